"""The coverage map: FTTH household share per municipality (classed), change between dates as a second layer,
province outlines, Italian tooltips and popups with figures, date and source."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any
from urllib.parse import urlencode

import folium
from sqlalchemy import Engine, text

from geo.analysis.runs import latest_run
from geo.italian import number
from geo.reference import gap_classes
from maps.assets import offline_map
from maps.controls import Choice, Choices, Column, MunicipalityPanel
from maps.display import TILES_FROM, Display, measure
from maps.labels import add_labels
from maps.legend import FTTH_SHARE, NEW_FTTH
from maps.page import Basemap, MapError, finish
from maps.restyled import Restyled
from maps.tiled import TiledChoropleth

SOURCE = "AGCOM Broadband Map; Infratel Mappatura 2025; ISTAT"

FEATURES_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', c.pro_com_t,
    'properties', json_build_object(
        'pro_com_t', c.pro_com_t, 'comune', r.comune, 'famiglie', c.households,
        'famiglie_ftth', c.households_ftth, 'quota', c.ftth_share, 'civici', c.civici_unserved,
        'nuove', ch.households_newly_reached, 'classe', c.gap_class, 'anomalie', c.anomalies,
        'quota_2030', c.ftth_share_2030, 'anno', c.full_ftth_year, 'senza', c.households_without_ftth,
        'per_1000', c.civici_per_1000, 'scuole_divario', CASE WHEN l.loaded THEN coalesce(sc.gap, 0) END),
    'geometry', ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(r.geom, :tolerance), 4326), :decimals)::json
) ORDER BY c.pro_com_t), '[]'::json))
FROM out.coverage_comune c
JOIN ref.comune r USING (pro_com_t)
LEFT JOIN out.coverage_change ch
  ON ch.run_id = c.run_id AND ch.level = 'municipality' AND ch.code = c.pro_com_t AND ch.to_date = c.ref_date
LEFT JOIN (
    SELECT s.pro_com_t, count(*) FILTER (WHERE k.status = 'gap') AS gap
    FROM out.school_connectivity k JOIN school.scuola s USING (codicescuola)
    WHERE k.run_id = :run AND (CAST(:level AS text) IS NULL OR s.livello = :level) GROUP BY 1
) sc ON sc.pro_com_t = c.pro_com_t
-- a municipality with no school has none in the gap, but only while schools are loaded at all (else: unknown)
CROSS JOIN (SELECT EXISTS (SELECT 1 FROM out.school_connectivity WHERE run_id = :run) AS loaded) l
WHERE c.run_id = :run AND c.ref_date = :day AND (CAST(:provinces AS text[]) IS NULL OR c.cod_uts = ANY(:provinces))
"""
# the municipalities of a tiled map, for its search and ranked table: code, name, bounds in degrees, figures
INDEX_SQL = """
SELECT c.pro_com_t, r.comune, ST_YMin(b), ST_XMin(b), ST_YMax(b), ST_XMax(b),
       -- a share whose own inputs are flagged is not ranked as if it were sound (see _label)
       CASE WHEN NOT doubtful THEN c.ftth_share END,
       CASE WHEN NOT doubtful THEN c.households_without_ftth END,
       c.civici_per_1000,
       CASE WHEN NOT doubtful THEN c.ftth_share_2030 END
FROM out.coverage_comune c
JOIN ref.comune r USING (pro_com_t)
CROSS JOIN LATERAL (SELECT ST_Transform(ST_Envelope(r.geom), 4326)::box2d AS b) e
CROSS JOIN LATERAL (
    SELECT string_to_array(coalesce(c.anomalies, ''), ';') && CAST(:share_flags AS text[]) AS doubtful
) d
WHERE c.run_id = :run AND c.ref_date = :day AND (CAST(:provinces AS text[]) IS NULL OR c.cod_uts = ANY(:provinces))
ORDER BY c.pro_com_t
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


GAP_LABELS = {c.name: c.label for c in gap_classes().classes} | {
    "unknown": "non determinabile (dati mancanti o anomali)"
}
ANOMALY_LABELS = {
    "missing_population": "popolazione ISTAT mancante",
    "missing_infratel": "comune assente dall'elenco Infratel",
    "missing_agcom_households": "famiglie AGCOM mancanti",
    "persons_per_household_high": "troppe persone per famiglia (AGCOM/ISTAT)",
    "persons_per_household_low": "troppo poche persone per famiglia (AGCOM/ISTAT)",
    "ftth_above_households": "famiglie FTTH oltre le famiglie residenti",
    "ftth_decrease": "famiglie FTTH in calo tra le due date",
}
# the flags that put the FTTH share itself in doubt: AGCOM's households. A missing Infratel or ISTAT figure leaves the
# share sound (the gap class is unknown all the same), and a decrease is a fact
SHARE_FLAGS = frozenset(
    {"missing_agcom_households", "persons_per_household_high", "persons_per_household_low", "ftth_above_households"}
)


# the ranked table: (short heading, full heading, position in the feature's "n" list, kind, the worse end); the
# first sorts by default, worst first
RANKED_COLUMNS: list[Column] = [
    ("FTTH", "Quota di famiglie raggiunte da FTTH", 0, "percent", "low"),
    ("Senza FTTH", "Famiglie senza FTTH", 1, "integer", "high"),
    ("Civici/1.000", "Civici senza >300 Mbit/s al 2028 ogni 1.000 abitanti", 2, "decimal", "high"),
    ("FTTH 2030", "Quota FTTH a fine 2030 al ritmo osservato fra le date (base debole)", 3, "percent", "low"),
]
SCHOOL_COLUMN: Column = (
    "Scuole",
    "Scuole con indirizzo senza >300 Mbit/s al 2028 (elenco Infratel)",
    4,
    "integer",
    "high",
)


NO_COVERAGE = "Manca l'analisi della copertura: senza di essa questa mappa non ha dati da mostrare."


def available_dates(engine: Engine) -> tuple[int, list[dt.date]]:
    """The latest coverage run and its AGCOM reference dates."""
    with engine.connect() as conn:
        run = latest_run(conn, "coverage")
        if run is None:
            raise MapError(NO_COVERAGE)
        days = (
            conn.execute(
                text("SELECT DISTINCT ref_date FROM out.coverage_comune WHERE run_id = :r ORDER BY 1"), {"r": run}
            )
            .scalars()
            .all()
        )
    return run, list(days)


def province_choice(engine: Engine, provinces: tuple[str, ...] | None) -> Choice:
    """The province list of a map's page: every loaded province, or all of them."""
    with engine.connect() as conn:
        loaded = conn.execute(text("SELECT cod_uts, coalesce(den_uts, cod_uts) FROM ref.province ORDER BY 2")).all()
    options = [("", "tutte quelle caricate"), *((code, name) for code, name in loaded)]
    return Choice("province", "Provincia", options, provinces[0] if provinces and len(provinces) == 1 else "")


def share_doubtful(anomalies: str | None) -> bool:
    """Whether a municipality's flags put its FTTH share itself in doubt (not only its Infratel or ISTAT figure)."""
    return any(flag in SHARE_FLAGS for flag in (anomalies or "").split(";"))


def share_text(share: float | None, anomalies: str | None) -> str:
    """An FTTH share as a popup writes it, marked when its own inputs are flagged."""
    if share is None:
        return "n.d."
    return f"{number(share * 100, 1)}%" + (" (dato anomalo)" if share_doubtful(anomalies) else "")


def anomalies_text(anomalies: str | None) -> str:
    """The flags of a municipality's inputs in Italian ("nessuno" when none)."""
    return "; ".join(ANOMALY_LABELS.get(a, a) for a in (anomalies or "").split(";") if a) or "nessuno"


def _label(properties: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of a municipality (texts and colours only: at 7,900 features every key weighs)."""
    share = properties["quota"]

    def txt(value: int | None) -> str:
        return "n.d." if value is None else f"{value:,}".replace(",", ".")

    outlook = properties["quota_2030"]
    # a share whose own inputs are flagged stays readable in the popup, marked, but is neither coloured nor ranked as
    # if it were sound; a municipality missing only from the Infratel list keeps its share
    doubtful = share_doubtful(properties["anomalie"])
    return {
        "comune": html.escape(properties["comune"]),  # tooltips and popups write it as HTML
        "pro_com_t": properties["pro_com_t"],
        "quota_ftth": share_text(share, properties["anomalie"]),
        # short keys and texts: the national page carries 7,900 of these
        "cl": GAP_LABELS.get(properties["classe"], properties["classe"]),
        "an": anomalies_text(properties["anomalie"]),
        "pr": "n.d." if outlook is None else f"{number(outlook * 100, 1)}% ({properties['anno'] or 'n.s.'})",
        "famiglie_txt": txt(properties["famiglie"]),
        "famiglie_ftth_txt": txt(properties["famiglie_ftth"]),
        "civici_txt": txt(properties["civici"]),
        "nuove_txt": txt(properties["nuove"]),
        "fill": FTTH_SHARE.colour(None if doubtful else share),
        "fill_change": NEW_FTTH.colour(properties["nuove"]),
        # numbers for the ranked table (sorting); None where unknown or doubtful
        "n": [None, None, properties["per_1000"], None, properties["scuole_divario"]]
        if doubtful
        else [share, properties["senza"], properties["per_1000"], outlook, properties["scuole_divario"]],
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


def territory_display(engine: Engine, provinces: tuple[str, ...] | None = None) -> Display:
    """The display of the loaded territory (its provinces, or those of ``provinces``)."""
    with engine.connect() as conn:
        return measure(
            conn,
            "SELECT geom FROM ref.province WHERE CAST(:p AS text[]) IS NULL OR cod_uts = ANY(:p)",
            {"p": list(provinces) if provinces else None},
        )


def add_provinces(m: folium.Map, engine: Engine, display: Display, national: bool = False) -> None:
    """Context without a tile server: province outlines, main roads (labelled when synthetic) and place names in
    the map's extent, generalised for it (on a ``national`` map, only the largest places are named)."""
    with engine.connect() as conn:
        provinces = conn.execute(text(PROVINCES_SQL), display.params).scalar_one()
        roads, synthetic = conn.execute(text(MAIN_ROADS_SQL), display.params).one()
        add_labels(m, conn, display, national)
    if roads["features"]:
        name = "Strade principali" + (" (rete SINTETICA, non rilevata)" if synthetic else "")
        style = {"color": "#7f7f7f", "weight": 1.5, "opacity": 0.8}
        # a synthetic network is context a planner may switch on, never a default layer that looks surveyed
        folium.GeoJson(roads, name=name, style_function=lambda _f: style, interactive=False, show=not synthetic).add_to(
            m
        )
    outline = {"fill": False, "color": "#222", "weight": 2.5}
    folium.GeoJson(provinces, name="Province", style_function=lambda _f: outline, interactive=False).add_to(m)


PROVINCE_FIGURES_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'properties', json_build_object(
        'provincia', coalesce(p.den_uts, p.cod_uts), 'famiglie', a.households, 'quota', a.ftth_share,
        'senza', a.households_without_ftth, 'civici', a.civici_unserved, 'quota_2030', a.ftth_share_2030,
        'anno', a.full_ftth_year, 'nota', a.outlook_note, 'down', o.avg_down_mbps, 'up', o.avg_up_mbps,
        'latenza', o.avg_latency_ms, 'trimestre', o.quarter),
    'geometry', ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(p.geom, :tolerance), 4326), :decimals)::json
)), '[]'::json))
FROM ref.province p
JOIN out.coverage_area a ON a.run_id = :run AND a.level = 'province' AND a.code = p.cod_uts AND a.ref_date = :day
LEFT JOIN LATERAL (
    SELECT * FROM cov.ookla_speed s WHERE s.level = 'province' AND s.code = p.cod_uts ORDER BY s.quarter DESC LIMIT 1
) o ON true
WHERE (CAST(:provinces AS text[]) IS NULL OR p.cod_uts = ANY(:provinces))
  AND (CAST(:xmin AS float8) IS NULL
       OR p.geom && ST_SetSRID(ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax), CAST(:srid AS integer)))
"""
OOKLA_LABEL = "Speedtest by Ookla via EDJNet, CC BY-NC-SA 4.0 (uso non commerciale)"


def add_province_figures(m: folium.Map, engine: Engine, where: dict[str, Any], display: Display) -> None:
    """Clickable provinces of the map (off by default): their FTTH figures, outlook and the latest Ookla speeds."""
    with engine.connect() as conn:
        figures = conn.execute(text(PROVINCE_FIGURES_SQL), where | display.params).scalar_one()
    for feature in figures["features"]:
        p = feature["properties"]
        speeds = (
            "n.d."
            if p["down"] is None
            else f"{number(p['down'], 1)} / {number(p['up'], 1)} Mbit/s, latenza {number(p['latenza'])} ms "
            f"(trimestre dal {dt.date.fromisoformat(p['trimestre']):%d/%m/%Y}; {OOKLA_LABEL})"
        )
        feature["properties"] = {
            "provincia": html.escape(p["provincia"]),
            "quota_txt": "n.d." if p["quota"] is None else f"{number(p['quota'] * 100, 1)}%",
            "senza_txt": "n.d." if p["senza"] is None else number(p["senza"]),
            "civici_txt": "n.d." if p["civici"] is None else number(p["civici"]),
            "prospettiva_txt": "n.d."
            if p["quota_2030"] is None
            else f"{number(p['quota_2030'] * 100, 1)}% a fine 2030; {p['nota']}",
            "ookla_txt": speeds,
        }
    folium.GeoJson(
        figures,
        name="Province: dati e velocità misurate (Ookla)",
        show=False,
        style_function=lambda _f: {"color": "#222", "weight": 1, "fillOpacity": 0.05},
        popup=folium.GeoJsonPopup(
            ["provincia", "quota_txt", "senza_txt", "civici_txt", "prospettiva_txt", "ookla_txt"],
            aliases=[
                "Provincia",
                "Quota famiglie FTTH",
                "Famiglie senza FTTH",
                "Civici senza >300 Mbit/s al 2028",
                "Prospettiva",
                "Velocità medie misurate (download / upload)",
            ],
        ),
    ).add_to(m)


def build(
    engine: Engine,
    day: dt.date | None = None,
    basemap: Basemap | None = None,
    provinces: tuple[str, ...] | None = None,
) -> str:
    """The coverage map for ``day`` (the latest reference date by default) of ``provinces`` (all loaded by default),
    as a standalone HTML page generalised for its extent."""
    run, days = available_dates(engine)
    day = day or days[-1]
    if day not in days:
        dates = ", ".join(f"{d:%d/%m/%Y}" for d in days)
        raise MapError(f"Nessun dato di copertura al {day:%d/%m/%Y}: le date caricate sono {dates}.")
    where = {"run": run, "day": day, "provinces": list(provinces) if provinces else None}
    with engine.connect() as conn:
        display = measure(conn, SHOWN_SQL, where)
    if display.features == 0:
        raise MapError(f"Nessun comune delle province {', '.join(provinces or ())} nell'analisi della copertura.")
    tiled = display.features >= TILES_FROM
    # a map-wide canvas over the tiles would take their clicks; the outlines left in the page are few
    m = offline_map(canvas=display.canvas and not tiled)
    display.fit(m)
    share = _add_tiled_share(m, engine, where) if tiled else _add_share(m, engine, where, display, days)
    add_provinces(m, engine, display, national=tiled)
    add_province_figures(m, engine, where, display)
    FTTH_SHARE.add_legend(m, share)
    choices = [(d.isoformat(), f"{d:%d/%m/%Y}") for d in reversed(days)]
    Choices([province_choice(engine, provinces), Choice("date", "Data AGCOM", choices, day.isoformat())]).add_to(m)
    return finish(m, f"Copertura FTTH – {day:%d/%m/%Y}", f"{SOURCE}; dati al {day:%d/%m/%Y}", basemap)


TILED_FIELDS = [
    ("Comune", "comune", "text"),
    ("Codice ISTAT", "pro_com_t", "text"),
    ("Famiglie residenti", "households", "integer"),
    ("Famiglie senza FTTH", "households_without_ftth", "integer"),
    ("Quota FTTH", "ftth_share", "percent"),
    ("Civici senza >300 Mbit/s al 2028", "civici_unserved", "integer"),
    ("Classe di divario", "gap_class", "label"),
    ("Quota FTTH a fine 2030 al ritmo osservato (base debole: meno di un anno)", "ftth_share_2030", "percent"),
    ("Anno di copertura completa (n.d. = non stimabile)", "full_ftth_year", "text"),
    ("Dati anomali", "anomalies", "label"),
]


def _add_tiled_share(m: folium.Map, engine: Engine, where: dict[str, Any]) -> TiledChoropleth:
    """The FTTH share from the coverage collection's vector tiles (only the tiles in view travel), with the
    municipalities' names, bounds and ranked figures for the search and the table."""
    day: dt.date = where["day"]
    query = urlencode(
        [("ref_date", day.isoformat()), ("run", where["run"]), *(("cod_uts", p) for p in where["provinces"] or ())]
    )
    share = TiledChoropleth(
        f"/collections/coverage/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}?{query}",
        "coverage",
        "ftth_share",
        FTTH_SHARE,
        TILED_FIELDS,
        GAP_LABELS | ANOMALY_LABELS,
        name=f"Quota famiglie FTTH al {day:%d/%m/%Y}",
        doubtful_when=("anomalies", sorted(SHARE_FLAGS)),
    )
    share.add_to(m)
    with engine.connect() as conn:
        index = conn.execute(text(INDEX_SQL), {**where, "share_flags": sorted(SHARE_FLAGS)})
        rows = [[*row[:2], *(round(v, 4) for v in row[2:6]), *row[6:]] for row in index]
    MunicipalityPanel(share, RANKED_COLUMNS, rows, f"/collections/coverage/items?{query}&f=json").add_to(m)
    return share


def _add_share(
    m: folium.Map, engine: Engine, where: dict[str, Any], display: Display, days: list[dt.date]
) -> folium.GeoJson:
    """The FTTH share (and the change since the previous date) as GeoJSON with the page."""
    day: dt.date = where["day"]
    popup_fields = [
        "comune", "pro_com_t", "famiglie_txt", "famiglie_ftth_txt", "quota_ftth", "civici_txt", "cl", "pr", "an",
    ]  # fmt: skip
    popup_aliases = [
        "Comune",
        "Codice ISTAT",
        "Famiglie residenti",
        "Famiglie raggiunte FTTH",
        "Quota FTTH",
        "Civici senza >300 Mbit/s al 2028",
        "Classe di divario",
        "Quota FTTH a fine 2030 (anno di copertura completa; n.s. = non stimabile) al ritmo osservato fra le date "
        "AGCOM: con meno di un anno di dati è una base debole",
        "Dati anomali",
    ]
    share = folium.GeoJson(
        municipality_features(engine, where, display),
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
    )
    share.add_to(m)
    MunicipalityPanel(share, RANKED_COLUMNS).add_to(m)
    if len(days) > 1 and day != days[0]:
        change = Restyled(
            share,
            "fill_change",
            [("Comune", "comune"), ("Nuove famiglie FTTH", "nuove_txt")],
            {"color": "#555", "weight": 0.5, "fillOpacity": 0.75},
            name=f"Nuove famiglie FTTH ({days[days.index(day) - 1]:%d/%m/%Y} → {day:%d/%m/%Y})",
        )
        change.add_to(m)
        NEW_FTTH.add_legend(m, change)
    return share


def municipality_features(engine: Engine, where: dict[str, Any], display: Display) -> dict[str, Any]:
    """The municipalities of a coverage run and date as GeoJSON, with the texts and figures the maps show."""
    with engine.connect() as conn:
        features = conn.execute(text(FEATURES_SQL), {"level": None} | where | display.params).scalar_one()
    for feature in features["features"]:
        feature["properties"] = _label(feature["properties"])
    return dict(features)


def add_municipalities(
    m: folium.Map,
    engine: Engine,
    display: Display,
    provinces: tuple[str, ...] | None,
    columns: list[Column],
    level: str | None = None,
) -> None:
    """The municipalities as outlines a planner can search, rank (by ``columns``) and click for their coverage
    figures, on a map whose subject is something else (schools, priorities); nothing when no coverage analysis
    has run yet."""
    try:
        run, days = available_dates(engine)
    except MapError:
        return
    where = {"run": run, "day": days[-1], "provinces": list(provinces) if provinces else None, "level": level}
    layer = folium.GeoJson(
        municipality_features(engine, where, display),
        name=f"Comuni: confini (un clic dà la copertura FTTH al {days[-1]:%d/%m/%Y})",
        style_function=lambda _f: {"color": "#777", "weight": 0.6, "fillOpacity": 0.0, "fillColor": "#fff"},
        highlight_function=lambda _f: {"weight": 2, "color": "#000"},
        tooltip=folium.GeoJsonTooltip(["comune", "quota_ftth"], aliases=["Comune", "Quota FTTH"]),
        popup=folium.GeoJsonPopup(
            ["comune", "pro_com_t", "famiglie_txt", "quota_ftth", "civici_txt", "cl"],
            aliases=["Comune", "Codice ISTAT", "Famiglie residenti", "Quota FTTH", "Civici senza >300 Mbit/s al 2028",
                     "Classe di divario"],
        ),
    )  # fmt: skip
    layer.add_to(m)
    MunicipalityPanel(layer, columns).add_to(m)
