"""The schools map (connectivity status, clustered, approximate locations marked) and the priorities map
(ranked targets and routes of a run, within-budget items distinct), optionally limited to one municipality."""

from __future__ import annotations

import html
import json
from typing import Any, cast

import folium
import pandas as pd
from branca.element import Figure
from folium.plugins import FastMarkerCluster
from folium.utilities import JsCode
from sqlalchemy import Engine, text

from geo.analysis.runs import latest_run
from geo.italian import euro, number
from maps.assets import offline_cluster, offline_map
from maps.controls import Choice, Choices, PageSearch
from maps.coverage import (
    GAP_LABELS,
    NO_COVERAGE,
    RANKED_COLUMNS,
    SCHOOL_COLUMN,
    add_municipalities,
    add_provinces,
    anomalies_text,
    province_choice,
    share_text,
    territory_display,
)
from maps.legend import Classes
from maps.levels import LEVELS
from maps.markup import Markup
from maps.page import Basemap, MapError, finish

# the order of the statuses of out.school_connectivity (gap, not_listed, unknown) in the legend and the markers
SCHOOL_STATUSES = ("gap", "not_listed", "unknown")
SCHOOL_STATUS = Classes(
    "Scuole",
    (1, 2, 3),
    ("#d7191c", "#1a9641", "#969696"),
    (
        "indirizzo senza >300 Mbit/s al 2028 (elenco Infratel)",
        "via nell'elenco, numero civico no",
        "non determinabile (civico mancante o via non trovata)",
    ),
)
PLACEMENT = "#6a3d9a"
NO_PRIORITIES = "Manca la graduatoria delle priorità: senza di essa questa mappa non ha dati da mostrare."
PRIORITY = Classes("Priorità", (1, 2), ("#1a9641", "#969696"), ("entro il budget", "oltre il budget"))
APPROXIMATE = "posizione approssimata (centro abitato o comune), non un rilievo"
APPROXIMATE_NOTE = (
    "Cerchio pieno: indirizzo geocodificato. Cerchio chiaro tratteggiato: posizione approssimata (centro abitato "
    "o comune). Un gruppo ha il colore della sua scuola peggiore."
)
# how each school was placed (school.scuola_located.geocode_quality)
QUALITY = {
    "address": "indirizzo geocodificato",
    "address_unverified": "indirizzo geocodificato in un altro comune (da verificare)",
    "settlement": "centro abitato principale del comune (approssimata)",
    "municipality": "punto interno al comune (approssimata)",
}


def _schools(
    engine: Engine,
    municipality: str | None = None,
    provinces: tuple[str, ...] | None = None,
    level: str | None = None,
) -> pd.DataFrame:
    """The located schools of the latest coverage run with their status, of a municipality, provinces or level."""
    with engine.connect() as conn:
        run = latest_run(conn, "coverage")
        if run is None:
            raise MapError(NO_COVERAGE)
        return pd.read_sql(
            text(
                "SELECT s.codicescuola, s.geocode_method, c.status, ST_Y(ST_Transform(s.geom, 4326)) AS lat, "
                "ST_X(ST_Transform(s.geom, 4326)) AS lon FROM school.scuola_located s "
                "JOIN out.school_connectivity c USING (codicescuola) WHERE c.run_id = :r "
                "AND (CAST(:m AS text) IS NULL OR s.pro_com_t = :m) "
                "AND (CAST(:p AS text[]) IS NULL OR left(s.pro_com_t, 3) = ANY(:p)) "
                "AND (CAST(:l AS text) IS NULL OR s.livello = :l) ORDER BY s.codicescuola"
            ),
            conn,
            params={"r": run, "m": municipality, "p": list(provinces) if provinces else None, "l": level},
        )


# Rows stay small (position, two flags, code) so that the national registry (50,000 schools) fits in a page; the
# popup asks the service's own OGC API for the school's record when it opens.
SCHOOL_MARKER = """function (row) {
    var esc = function (s) { var d = document.createElement('div'); d.textContent = String(s); return d.innerHTML; };
    var colour = STATUS_COLOURS[row[2]];
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]), {radius: 6, weight: 2, color: colour,
        fillColor: colour, fillOpacity: row[3] ? 0.9 : 0.15, dashArray: row[3] ? null : '3', status: row[2]});
    var table = function (pairs) {
        return '<table>' + pairs.map(function (p) {
            return '<tr><th style="text-align:left;padding-right:8px">' + p[0] + '</th><td>' + esc(p[1]) + '</td></tr>';
        }).join('') + '</table>';
    };
    var fixed = [['Codice', row[4]], ['Connettività', STATUS_LABELS[row[2]]],
        ['Posizione', row[3] ? 'indirizzo geocodificato' : APPROXIMATE]];
    marker.bindPopup(table(fixed), {maxWidth: 360});
    marker.on('popupopen', function (e) {
        fetch('/collections/schools/items/' + encodeURIComponent(row[4]) + '?f=json')
            .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
            .then(function (f) {
                var p = f.properties;
                e.popup.setContent(table([fixed[0], ['Scuola', p.denominazione],
                    ['Livello', LEVELS[p.livello] || p.livello], ['Indirizzo', p.indirizzo || 'n.d.'], fixed[1],
                    fixed[2], ['Qualità della posizione', QUALITY[p.geocode_quality] || 'n.d.']]));
            })
            .catch(function () { e.popup.setContent(table(fixed.concat([['Dettagli', 'non disponibili']]))); });
    });
    marker.bindTooltip(esc(row[4]));
    return marker;
}"""


# a group of schools takes the colour of its worst status (one in the gap makes it red, one unknown grey), never
# the cluster library's colours by size, which a reader would take for statuses
SCHOOL_CLUSTER = """function (cluster) {
    var counts = [0, 0, 0];
    cluster.getAllChildMarkers().forEach(function (m) { counts[m.options.status] += 1; });
    // gap first, then unknown: a group is green only when every school in it is
    var worst = counts[0] ? 0 : (counts[2] ? 2 : 1), total = counts[0] + counts[1] + counts[2];
    var div = document.createElement('div'), count = document.createElement('span');
    count.textContent = total;
    div.appendChild(count);
    div.title = total + ' scuole: ' + counts.map(function (n, i) { return n + ' ' + STATUS_LABELS[i]; }).join('; ');
    div.style.background = STATUS_COLOURS[worst];
    div.style.color = worst === 2 ? '#000' : '#fff';
    // the cluster library's own disc and centred count (its CSS), in the status colour
    return L.divIcon({html: div, className: 'marker-cluster areavasta-school-cluster', iconSize: L.point(40, 40)});
}"""


def add_schools(m: folium.Map, schools: pd.DataFrame) -> FastMarkerCluster:
    """Clustered circle markers; hollow dashed circles mark approximate (non-surveyed) locations. Returns the
    layer."""
    # 5 decimals: about a metre, finer than any school's geocode
    rows = [
        [round(lat, 5), round(lon, 5), SCHOOL_STATUSES.index(status), int(method == "geocoded_address"), code]
        for lat, lon, status, method, code in zip(
            schools["lat"],
            schools["lon"],
            schools["status"],
            schools["geocode_method"],
            schools["codicescuola"],
            strict=True,
        )
    ]
    constants = (
        f"var STATUS_COLOURS = {json.dumps(list(SCHOOL_STATUS.colours))};"
        f"var STATUS_LABELS = {json.dumps(list(SCHOOL_STATUS.labels))};"
        f"var APPROXIMATE = {json.dumps(APPROXIMATE)};"
        f"var LEVELS = {json.dumps(LEVELS)};"
        f"var QUALITY = {json.dumps(QUALITY)};"
    )
    cast(Figure, m.get_root()).script.add_child(Markup(constants), index=0)
    cluster = offline_cluster("Scuole (raggruppate)", rows, SCHOOL_MARKER, SCHOOL_CLUSTER)
    cluster.add_to(m)
    return cluster


def schools_map(
    engine: Engine,
    provinces: tuple[str, ...] | None = None,
    level: str | None = None,
    basemap: Basemap | None = None,
) -> str:
    """The schools of ``provinces`` (all loaded by default) and ``level`` (all by default) by connectivity status,
    over the municipalities a planner can search and rank by their schools in the gap."""
    schools = _schools(engine, provinces=provinces, level=level)
    display = territory_display(engine, provinces)
    if display.features == 0:
        raise MapError(f"Nessuna provincia caricata fra {', '.join(provinces or ())}.")
    m = offline_map()
    display.fit(m)
    add_municipalities(m, engine, display, provinces, [SCHOOL_COLUMN, *RANKED_COLUMNS], level)
    add_provinces(m, engine, display)
    SCHOOL_STATUS.add_legend(m, add_schools(m, schools), APPROXIMATE_NOTE)
    levels = [("", "tutti"), *LEVELS.items()]
    Choices([province_choice(engine, provinces), Choice("level", "Livello", levels, level or "")]).add_to(m)
    source = "MIM anagrafe scuole; Infratel Mappatura 2025; geocodifica napo/OSM"
    title = "Scuole e connettività" + (f" – {LEVELS[level]}" if level else "")
    return finish(m, title, source, basemap)


def _priorities(engine: Engine, run: int | None, top: int, municipality: str | None) -> tuple[int, dict, bool]:
    with engine.connect() as conn:
        if (
            run is not None
            and not conn.execute(
                text("SELECT 1 FROM out.analysis_run WHERE id = :r AND kind = 'priorities'"), {"r": run}
            ).first()
        ):
            raise MapError(
                f"Non esiste la graduatoria n. {run}: le graduatorie calcolate sono elencate da 'areavasta runs'."
            )
        run = run or latest_run(conn, "priorities")
        if run is None:
            raise MapError(NO_PRIORITIES)
        features = conn.execute(
            text(
                "SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object("
                "'type', 'Feature', 'id', target_id, "
                "'properties', json_build_object('rank', rank, 'target', target_id, 'tipo', kind, "
                "'nome', name, 'costo', capex_eur, 'basso', capex_low_eur, 'alto', capex_high_eur, "
                "'marginale', marginal_capex_eur, 'civici', civici, 'persone', population, "
                "'per_civico', eur_per_civico, 'beneficio', benefit, 'selezionato', selected, 'motivo', reason, "
                "'posizione', location, 'strade', roads_status, 'oltre_soglia', above_cost_cap, "
                "'comune', (SELECT c.comune FROM ref.comune c WHERE c.pro_com_t = priority_item.pro_com_t)), "
                "'geometry', ST_AsGeoJSON(ST_Transform(geom, 4326), 6)::json, "
                "'route', ST_AsGeoJSON(ST_Transform(route, 4326), 6)::json) ORDER BY rank), '[]'::json)) "
                "FROM out.priority_item WHERE run_id = :r AND rank <= :top "
                "AND (CAST(:m AS text) IS NULL OR pro_com_t = :m)"
            ),
            {"r": run, "top": top, "m": municipality},
        ).scalar_one()
        synthetic = bool(conn.execute(text("SELECT bool_or(synthetic) FROM net.edge")).scalar())
        cells = conn.execute(
            text(
                "SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg("
                "json_build_object('type', 'Feature', 'properties', json_build_object('civici', p.civici), "
                "'geometry', ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(p.geom, 20), 4326), 5)::json)), "
                "'[]'::json)) "
                "FROM out.priority_placement p JOIN out.priority_item i USING (run_id, target_id) "
                "WHERE p.run_id = :r AND i.rank <= :top AND (CAST(:m AS text) IS NULL OR i.pro_com_t = :m)"
            ),
            {"r": run, "top": top, "m": municipality},
        ).scalar_one()
    features["placements"] = cells
    return run, features, synthetic


LOCATION_IT = {
    "modelled": "MODELLATA: civici ripartiti sulle celle da 1 km del Censimento 2021 (l'elenco non ha coordinate)",
    "street": "per via: civici collocati sulle strade rilevate con lo stesso nome",
    "street_and_modelled": "in parte per via, in parte MODELLATA sulle celle del Censimento 2021",
    "settlement": "MODELLATA: centro abitato principale (nessuna cella popolata)",
    "geocoded": "indirizzo geocodificato",
    "approximate": "approssimata (centro abitato o comune)",
}


def _over_cap(flag: bool | None, cost: float | None) -> str:
    """The cost-cap flag of a target in Italian: unknown without a route, not assessed in a run before the flag."""
    if cost is None:
        return "n.d. (nessun percorso)"
    if flag is None:
        return "non valutato (run precedente alla soglia)"
    return "sì: da confrontare con FWA o satellite" if flag else "no"


def _in_selection(selected: bool, marginal: float | None) -> str:
    """What a target costs in the selection, or what adding a target left out would cost."""
    if selected:
        return _euro(marginal)
    if marginal is None:
        return "non selezionato"
    return f"non selezionato: aggiungerlo costerebbe {_euro(marginal)}, più di quanto resta del budget"


def _euro(value: float | None) -> str:
    return "n.d." if value is None else euro(value)


# each target's popup and tooltip, built in the browser from its rows as text (never markup: names come from data)
TARGET_DETAILS = JsCode(
    """function (feature, layer) {
        var p = feature.properties;
        layer.bindPopup(function () { return window.areavasta.rows(p.righe); }, {maxWidth: 460, maxHeight: 420});
        var tip = document.createElement('span');
        tip.textContent = p.etichetta;
        layer.bindTooltip(tip);
    }"""
)


# the municipality's figures, built in the browser from their rows as text (folium's Popup writes its HTML into a
# script's template literal, where a name with ${…} would run); open as the page opens (they are its subject) and
# again on a click of its outline
FIGURES_POPUP = JsCode(
    """function (feature, layer) {
        layer.bindPopup(function () { return window.areavasta.rows(feature.properties.righe); }, {maxWidth: 380});
        layer.once('add', function () { setTimeout(function () { layer.openPopup(); }, 0); });
    }"""
)


def add_priorities(
    m: folium.Map, features: dict[str, Any], synthetic: bool, cells_take_clicks: bool = True
) -> folium.GeoJson:
    """The targets (selected ones drawn last, on top), their routes and the modelled placement of their civic
    numbers, each one layer (one element to render, not one per target); returns the targets' layer. Without
    ``cells_take_clicks`` the placement cells let clicks through to what lies under them (a municipality's outline)."""
    label = " (su rete stradale SINTETICA)" if synthetic else ""
    if features.get("placements", {}).get("features"):
        folium.GeoJson(
            features["placements"],
            name="Collocazione MODELLATA dei civici (celle 1 km)",
            style_function=lambda _f: {
                "color": PLACEMENT,
                "weight": 1,
                "dashArray": "4",
                "fillOpacity": 0.08,
                "interactive": cells_take_clicks,
            },
            tooltip=folium.GeoJsonTooltip(["civici"], aliases=["Civici collocati (modello)"])
            if cells_take_clicks
            else None,
        ).add_to(m)
    points: list[dict[str, Any]] = []
    traced: list[dict[str, Any]] = []
    for feature in sorted(features["features"], key=lambda f: bool(f["properties"]["selezionato"])):
        p = feature["properties"]
        colour = PRIORITY.colours[0 if p["selezionato"] else 1]
        school = p["tipo"] == "school"
        benefit = (
            "Beneficio (persone equivalenti: peso MODELLATO per una scuola)"
            if school
            else "Beneficio (persone servite, stima)"
        )
        rows = [
            ("Posizione in graduatoria", p["rank"]),
            ("Obiettivo", p["nome"] or p["target"]),
            ("Comune", p["comune"] or "n.d."),
            # a school's own listed civic number and its pupils are counted by the school's weight, not here
            ("Civici senza >300 Mbit/s", "quello della scuola" if school else number(p["civici"])),
            ("Persone stimate", "contate con il peso della scuola" if school else number(p["persone"])),
            ("Costo (centrale)", _euro(p["costo"])),
            ("Intervallo di costo", f"{_euro(p['basso'])} – {_euro(p['alto'])}"),
            ("Euro per civico", _euro(p["per_civico"])),
            ("Oltre la soglia di costo per civico o scuola", _over_cap(p["oltre_soglia"], p["costo"])),
            ("Costo nella selezione (con le opere già scelte)", _in_selection(p["selezionato"], p["marginale"])),
            (benefit, number(p["beneficio"])),
            ("Collocazione", LOCATION_IT.get(p["posizione"], p["posizione"])),
            ("Rete stradale", "SINTETICA (non rilevata)" if p["strade"] == "synthetic" else "OpenStreetMap"),
            ("Fonti in fibra", "stimate (proxy), non censite"),
            ("Perché", p["motivo"]),
        ]
        points.append(
            {
                "type": "Feature",
                "geometry": feature["geometry"],
                "properties": {
                    "righe": [[name, str(value)] for name, value in rows],
                    "etichetta": f"{p['rank']}. {p['nome'] or p['target']}",
                    "colore": colour,
                    "tratteggio": None if p["posizione"] == "geocoded" else "3",
                },
            }
        )
        if feature.get("route"):
            traced.append(
                {
                    "type": "Feature",
                    "geometry": feature["route"],
                    "properties": {"tracciato": f"tracciato n. {int(p['rank'])}", "colore": colour},
                }
            )
    routes = folium.FeatureGroup(name=f"Tracciati{label}")
    if traced:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": traced},
            style_function=lambda f: {"color": f["properties"]["colore"], "weight": 3},
            tooltip=folium.GeoJsonTooltip(["tracciato"], labels=False),  # text made here from a rank
        ).add_to(routes)
    routes.add_to(m)
    targets = folium.GeoJson(
        {"type": "FeatureCollection", "features": points},
        name="Obiettivi",
        marker=folium.CircleMarker(radius=7, fill=True, fill_opacity=0.9),
        style_function=lambda f: {
            "color": f["properties"]["colore"],
            "fillColor": f["properties"]["colore"],
            "dashArray": f["properties"]["tratteggio"],
        },
        on_each_feature=TARGET_DETAILS,
    )
    targets.add_to(m)
    return targets


def priorities_map(
    engine: Engine,
    run: int | None = None,
    top: int = 100,
    municipality: str | None = None,
    basemap: Basemap | None = None,
) -> str:
    """The priorities map page (HTML): the ``top`` ranked targets of a run (the latest by default), in one municipality
    or all, over the municipalities and provinces."""
    run, features, synthetic = _priorities(engine, run, top, municipality)
    display = territory_display(engine)
    m = offline_map()
    display.fit(m)
    add_municipalities(m, engine, display, None, RANKED_COLUMNS)
    add_provinces(m, engine, display)
    targets = add_priorities(m, features, synthetic)
    PRIORITY.add_legend(m, targets, "Bordo tratteggiato: posizione modellata o approssimata, non un indirizzo.")
    source = f"areavasta, priorità (elaborazione n. {run})" + ("; rete stradale SINTETICA" if synthetic else "")
    return finish(m, f"Priorità di intervento – elaborazione n. {run}", source, basemap)


def municipality_map(engine: Engine, code: str, basemap: Basemap | None = None) -> str:
    """One municipality: its boundary and figures, its schools, and its priority targets and routes."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT c.comune, ST_AsGeoJSON(ST_Transform(c.geom, 4326), 6)::json AS geometry, "
                "cc.households, cc.households_ftth, cc.ftth_share, cc.civici_unserved, cc.ref_date, cc.gap_class, "
                "cc.anomalies "
                "FROM ref.comune c LEFT JOIN out.coverage_comune cc ON cc.pro_com_t = c.pro_com_t AND cc.run_id = :r "
                "WHERE c.pro_com_t = :c ORDER BY cc.ref_date DESC NULLS LAST LIMIT 1"
            ),
            {"c": code, "r": latest_run(conn, "coverage")},
        ).first()
    if row is None:
        raise MapError(f"Nessun comune con codice ISTAT {code} fra quelli caricati.")

    def figure(value: float | None) -> str:
        return "n.d." if value is None else number(value)

    figures = [
        ("Comune", row.comune),
        ("Codice ISTAT", code),
        ("Famiglie residenti", figure(row.households)),
        ("Famiglie raggiunte FTTH", figure(row.households_ftth)),
        ("Quota FTTH", share_text(row.ftth_share, row.anomalies)),
        ("Classe di divario", GAP_LABELS.get(row.gap_class, "n.d.") if row.gap_class else "n.d."),
        ("Dati anomali", anomalies_text(row.anomalies)),
        ("Civici senza >300 Mbit/s al 2028", figure(row.civici_unserved)),
        ("Data AGCOM", f"{row.ref_date:%d/%m/%Y}" if row.ref_date else "n.d."),
    ]
    m = offline_map()
    outline = folium.GeoJson(
        {"type": "Feature", "properties": {"righe": figures}, "geometry": row.geometry},
        name=html.escape(row.comune),  # the layer control writes names as HTML
        style_function=lambda _f: {"color": "#08306b", "weight": 3, "fillOpacity": 0.05},
        on_each_feature=FIGURES_POPUP,
    )
    outline.add_to(m)
    SCHOOL_STATUS.add_legend(m, add_schools(m, _schools(engine, code)), APPROXIMATE_NOTE)
    try:
        _, features, synthetic = _priorities(engine, None, 1_000_000, code)
        PRIORITY.add_legend(m, add_priorities(m, features, synthetic, cells_take_clicks=False))
    except MapError:
        pass  # no priorities run yet: the municipality map still shows boundary, figures and schools
    add_provinces(m, engine, territory_display(engine))
    with engine.connect() as conn:
        names = [list(r) for r in conn.execute(text("SELECT pro_com_t, comune FROM ref.comune ORDER BY comune"))]
    PageSearch(names, "/maps/municipality/").add_to(m)
    m.fit_bounds(cast(list[list[float]], outline.get_bounds()))
    return finish(m, f"{row.comune} – banda ultralarga e scuole", "ISTAT; AGCOM; Infratel; MIM", basemap)
