"""The coverage map: FTTH household share per municipality (classed), change between dates as a second layer,
province outlines, Italian tooltips and popups with figures, date and source."""

from __future__ import annotations

import datetime as dt
from typing import Any

import folium
from sqlalchemy import Engine, text

from geo.analysis.runs import latest_run
from maps.assets import offline_map
from maps.display import Display, measure
from maps.legend import FTTH_SHARE, NEW_FTTH
from maps.page import finish
from maps.restyled import Restyled

SOURCE = "AGCOM Broadband Map; Infratel Mappatura 2025; ISTAT"

FEATURES_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', c.pro_com_t,
    'properties', json_build_object(
        'pro_com_t', c.pro_com_t, 'comune', r.comune, 'famiglie', c.households,
        'famiglie_ftth', c.households_ftth, 'quota', c.ftth_share, 'civici', c.civici_unserved,
        'nuove', ch.households_newly_reached),
    'geometry', ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(r.geom, :tolerance), 4326), :decimals)::json
) ORDER BY c.pro_com_t), '[]'::json))
FROM out.coverage_comune c
JOIN ref.comune r USING (pro_com_t)
LEFT JOIN out.coverage_change ch
  ON ch.run_id = c.run_id AND ch.level = 'municipality' AND ch.code = c.pro_com_t AND ch.to_date = c.ref_date
WHERE c.run_id = :run AND c.ref_date = :day AND (CAST(:provinces AS text[]) IS NULL OR c.cod_uts = ANY(:provinces))
"""
SHOWN_SQL = """
SELECT r.geom FROM out.coverage_comune c JOIN ref.comune r USING (pro_com_t)
WHERE c.run_id = :run AND c.ref_date = :day AND (CAST(:provinces AS text[]) IS NULL OR c.cod_uts = ANY(:provinces))
"""
PROVINCES_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', cod_uts, 'properties', json_build_object('provincia', coalesce(den_uts, cod_uts)),
    'geometry', ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(geom, :tolerance), 4326), :decimals)::json)),
    '[]'::json))
FROM ref.province
WHERE CAST(:xmin AS float8) IS NULL
   OR geom && ST_SetSRID(ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax), CAST(:srid AS integer))
"""


class MapError(LookupError):
    """The map cannot be drawn (no analysis run, unknown date)."""


def available_dates(engine: Engine) -> tuple[int, list[dt.date]]:
    with engine.connect() as conn:
        run = latest_run(conn, "coverage")
        if run is None:
            raise MapError("no coverage analysis yet: run 'areavasta analyze'")
        days = (
            conn.execute(
                text("SELECT DISTINCT ref_date FROM out.coverage_comune WHERE run_id = :r ORDER BY 1"), {"r": run}
            )
            .scalars()
            .all()
        )
    return run, list(days)


def _label(properties: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of a municipality (texts and colours only: at 7,900 features every key weighs)."""
    share = properties["quota"]

    def txt(value: int | None) -> str:
        return "n.d." if value is None else f"{value:,}".replace(",", ".")

    return {
        "comune": properties["comune"],
        "pro_com_t": properties["pro_com_t"],
        "quota_ftth": "n.d." if share is None else f"{share * 100:.1f}%",
        "famiglie_txt": txt(properties["famiglie"]),
        "famiglie_ftth_txt": txt(properties["famiglie_ftth"]),
        "civici_txt": txt(properties["civici"]),
        "nuove_txt": txt(properties["nuove"]),
        "fill": FTTH_SHARE.colour(share),
        "fill_change": NEW_FTTH.colour(properties["nuove"]),
    }


MAIN_ROADS_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'properties', json_build_object('highway', highway),
    'geometry', ST_AsGeoJSON(ST_Transform(ST_Simplify(geom, :tolerance), 4326), :decimals)::json)), '[]'::json)),
    coalesce(bool_or(synthetic), false)
FROM net.edge WHERE highway IN ('motorway', 'trunk', 'primary', 'secondary')
  AND (CAST(:xmin AS float8) IS NULL
       OR geom && ST_SetSRID(ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax), CAST(:srid AS integer)))
"""


def territory_display(engine: Engine) -> Display:
    """The display of the whole loaded territory (its provinces)."""
    with engine.connect() as conn:
        return measure(conn, "SELECT geom FROM ref.province")


def add_provinces(m: folium.Map, engine: Engine, display: Display) -> None:
    """Context without a tile server: province outlines and main roads (labelled when synthetic) in the map's
    extent, generalised for it."""
    with engine.connect() as conn:
        provinces = conn.execute(text(PROVINCES_SQL), display.params).scalar_one()
        roads, synthetic = conn.execute(text(MAIN_ROADS_SQL), display.params).one()
    if roads["features"]:
        name = "Strade principali" + (" (rete SINTETICA, non rilevata)" if synthetic else "")
        style = {"color": "#7f7f7f", "weight": 1.5, "opacity": 0.8}
        folium.GeoJson(roads, name=name, style_function=lambda _f: style, interactive=False).add_to(m)
    outline = {"fill": False, "color": "#222", "weight": 2.5}
    folium.GeoJson(provinces, name="Province", style_function=lambda _f: outline, interactive=False).add_to(m)


def build(
    engine: Engine,
    day: dt.date | None = None,
    tile_url: str | None = None,
    provinces: tuple[str, ...] | None = None,
) -> str:
    """The coverage map for ``day`` (the latest reference date by default) of ``provinces`` (all loaded by default),
    as a standalone HTML page generalised for its extent."""
    run, days = available_dates(engine)
    day = day or days[-1]
    if day not in days:
        raise MapError(f"no coverage data for {day}; dates: {', '.join(str(d) for d in days)}")
    where = {"run": run, "day": day, "provinces": list(provinces) if provinces else None}
    with engine.connect() as conn:
        display = measure(conn, SHOWN_SQL, where)
        if display.features == 0:
            raise MapError(f"no municipality of provinces {', '.join(provinces or ())} in the coverage analysis")
        features = conn.execute(text(FEATURES_SQL), where | display.params).scalar_one()
    for feature in features["features"]:
        feature["properties"] = _label(feature["properties"])
    m = offline_map(canvas=display.canvas)
    m.fit_bounds(display.bounds)
    if tile_url:
        folium.TileLayer(tile_url, attr="configured tile server", name="sfondo").add_to(m)
    popup_fields = ["comune", "pro_com_t", "famiglie_txt", "famiglie_ftth_txt", "quota_ftth", "civici_txt"]
    popup_aliases = [
        "Comune",
        "Codice ISTAT",
        "Famiglie residenti",
        "Famiglie raggiunte FTTH",
        "Quota FTTH",
        "Civici senza >300 Mbit/s al 2028",
    ]
    share = folium.GeoJson(
        features,
        name=f"Quota famiglie FTTH al {day:%d/%m/%Y}",
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": "#555",
            "weight": 0.5,
            "fillOpacity": 0.75,
        },
        highlight_function=lambda _f: {"weight": 2, "color": "#000"},
        tooltip=folium.GeoJsonTooltip(["comune", "quota_ftth"], aliases=["Comune", "Quota FTTH"]),
        popup=folium.GeoJsonPopup(popup_fields, aliases=popup_aliases),
    ).add_to(m)
    if len(days) > 1 and day != days[0]:
        Restyled(
            share,
            "fill_change",
            [("Comune", "comune"), ("Nuove famiglie FTTH", "nuove_txt")],
            {"color": "#555", "weight": 0.5, "fillOpacity": 0.75},
            name=f"Nuove famiglie FTTH ({days[days.index(day) - 1]:%d/%m/%Y} → {day:%d/%m/%Y})",
        ).add_to(m)
    add_provinces(m, engine, display)
    FTTH_SHARE.add_legend(m)
    return finish(m, f"Copertura FTTH – {day:%d/%m/%Y}", f"{SOURCE}; dati al {day:%d/%m/%Y}")
