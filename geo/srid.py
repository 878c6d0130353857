"""The SRID of every stored geometry (UTM 32N, EPSG:32632): fixed by the schema and its migrations, so a constant,
never a setting."""

WORKING_SRID = 32632
