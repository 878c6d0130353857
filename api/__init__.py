"""The HTTP service: OGC API - Features, downloads, jobs, catalogue and maps."""
