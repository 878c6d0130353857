"""Folium maps served by the API, with every asset served locally."""
