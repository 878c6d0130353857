"""Priority lists as files for infrastructure officers: CSV (UTF-8, codes as text), XLSX (summary sheet and one
sheet per province, formatted frozen headers, numbers as numbers), GeoPackage (targets and routes) and GeoJSON."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Engine, text

from geo.analysis.runs import AnalysisError, latest_run

COLUMNS = [
    "rank",
    "target_id",
    "kind",
    "name",
    "pro_com_t",
    "cod_uts",
    "geocode_quality",
    "population",
    "households",
    "civici",
    "schools",
    "benefit",
    "route_length_m",
    "capex_eur",
    "npv_eur",
    "marginal_capex_eur",
    "bc_ratio",
    "eur_per_civico",
    "eur_per_person",
    "selected",
    "cumulative_eur",
    "reason",
]
FORMATS = ("csv", "xlsx", "gpkg", "geojson")


def load(engine: Engine, run_id: int | None = None) -> tuple[int, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The run's targets (points) and routes (lines), ranked; the latest priorities run by default."""
    with engine.connect() as conn:
        run_id = run_id or latest_run(conn, "priorities")
        if run_id is None:
            raise AnalysisError("no priorities run: run 'areavasta priorities' first")
        targets = gpd.read_postgis(
            text(f"SELECT {', '.join(COLUMNS)}, geom FROM out.priority_item WHERE run_id = :r ORDER BY rank"),
            conn,
            geom_col="geom",
            params={"r": run_id},
        )
        routes = gpd.read_postgis(
            text(
                "SELECT rank, target_id, selected, route_length_m, marginal_capex_eur, route AS geom "
                "FROM out.priority_item WHERE run_id = :r AND route IS NOT NULL ORDER BY rank"
            ),
            conn,
            geom_col="geom",
            params={"r": run_id},
        )
    if targets.empty:
        raise AnalysisError(f"priorities run {run_id} has no items")
    return run_id, targets, routes


def to_csv(targets: gpd.GeoDataFrame) -> bytes:
    return targets[COLUMNS].to_csv(index=False).encode("utf-8")


def _sheet(sheet: Worksheet, frame: pd.DataFrame) -> None:
    sheet.append(list(frame.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
    for row in frame.itertuples(index=False):
        sheet.append([None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in row])
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        width = max(len(str(c.value)) if c.value is not None else 0 for c in list(column)[:200])
        sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)


def to_xlsx(targets: gpd.GeoDataFrame) -> bytes:
    book = Workbook()
    summary = (
        targets.groupby("cod_uts")
        .agg(
            targets=("target_id", "count"),
            selected=("selected", "sum"),
            civici=("civici", "sum"),
            schools=("schools", "sum"),
            capex_selected_eur=("marginal_capex_eur", "sum"),
        )
        .reset_index()
    )
    _sheet(book.active, summary)
    book.active.title = "summary"
    for province, part in targets.groupby("cod_uts"):
        _sheet(book.create_sheet(f"province {province}"), pd.DataFrame(part[COLUMNS]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_gpkg(targets: gpd.GeoDataFrame, routes: gpd.GeoDataFrame) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "priorities.gpkg"
        pyogrio.write_dataframe(targets, path, layer="targets", driver="GPKG")
        if not routes.empty:
            pyogrio.write_dataframe(routes, path, layer="routes", driver="GPKG", append=True)
        return path.read_bytes()


def to_geojson(targets: gpd.GeoDataFrame) -> bytes:
    return targets.to_crs(4326).to_json(drop_id=True).encode("utf-8")


def export(engine: Engine, fmt: str, run_id: int | None = None) -> tuple[int, bytes]:
    """The run's list in ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    run_id, targets, routes = load(engine, run_id)
    body = {
        "csv": lambda: to_csv(targets),
        "xlsx": lambda: to_xlsx(targets),
        "gpkg": lambda: to_gpkg(targets, routes),
        "geojson": lambda: to_geojson(targets),
    }[fmt]()
    return run_id, body
