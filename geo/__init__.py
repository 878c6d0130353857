"""areavasta core: settings, database, models, CRS helpers, ingest and analysis."""

__version__ = "0.1.0"
