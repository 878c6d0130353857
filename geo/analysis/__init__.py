"""Analyses over the store: coverage gaps, schools, routing, costs and priorities."""
