"""Census grid cells split by municipality (``sql/census_parts.sql``), kept in ``ref.popgrid_part`` and computed
again only when the grid or the boundaries have been loaded anew: cutting thousands of cells by full-resolution
outlines takes longer than the whole coverage analysis."""

from __future__ import annotations

from sqlalchemy import Connection, text

from geo.analysis.runs import sql


def _inputs(conn: Connection) -> tuple[int | None, int | None]:
    return (
        conn.execute(text("SELECT max(ingest_run_id) FROM ref.popgrid_cell")).scalar(),
        conn.execute(text("SELECT max(ingest_run_id) FROM ref.comune")).scalar(),
    )


def refresh_parts(conn: Connection) -> bool:
    """Make ``ref.popgrid_part`` match the loaded grid and boundaries; True if it holds any part."""
    grid_run, boundaries_run = _inputs(conn)
    if grid_run is None or boundaries_run is None:
        conn.execute(text("DELETE FROM ref.popgrid_part"))
        return False
    current = conn.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM ref.popgrid_part) AND NOT EXISTS (SELECT 1 FROM ref.popgrid_part "
            "WHERE popgrid_run_id <> :g OR boundaries_run_id <> :b)"
        ),
        {"g": grid_run, "b": boundaries_run},
    ).scalar()
    if not current:
        conn.execute(text("DELETE FROM ref.popgrid_part"))
        conn.execute(
            text(
                "INSERT INTO ref.popgrid_part (pro_com_t, grd_id, population, area_km2, density_per_km2, geom, "
                f"popgrid_run_id, boundaries_run_id) SELECT pro_com_t, grd_id, population, area_km2, density_per_km2, "
                f"geom, :g, :b FROM ({sql('census_parts')}) parts"
            ),
            {"g": grid_run, "b": boundaries_run},
        )
        conn.execute(text("ANALYZE ref.popgrid_part"))
    return True
