"""Database access: the managed cluster, engines, migrations and bulk loading."""
