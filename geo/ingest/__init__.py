"""Ingest jobs, one module per source, sharing the protocol of :mod:`geo.ingest.pipeline`."""
