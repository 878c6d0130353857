"""Infrastructure priorities: where public money connects the most people and schools per euro, with costs an
officer can defend.

Targets are the listed civic numbers of each municipality placed over its populated census cells and grouped by
settlement (``placement``), and the schools whose address is on the Infratel list. Each target costs
backhaul + distribution + drops (``costs``): backhaul along the road graph from the nearest fibre source (a proxy:
the main settlements of municipalities whose FTTH household share reaches the scenario's threshold), distribution
per civic number passed at its cell's density class, one drop per civic number. Every cost has a low, central and
high value. A greedy selection by benefit (persons) over marginal cost, the network growing with every selected
route, fills the budget; the stability of the ranking under the low and high costs and under another source
threshold is measured and stored with the run.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from geo.analysis.costs import BOUNDS, Scenario, UnitCosts, edge_costs, geotypes, npv, unit_costs
from geo.analysis.placement import civic_targets, point_of, school_targets
from geo.analysis.routing import Graph, RoadNetwork, Route
from geo.analysis.runs import AnalysisError, Run, insert_rows, latest_run, run_analysis
from geo.italian import euro, number
from geo.models import ITEM_COLUMNS
from geo.reference import coverage_rules, school_levels

KIND = "priorities"
SOURCE_PROXY = "main settlements of municipalities whose AGCOM FTTH household share reaches the threshold"


def _coverage(conn: Connection) -> tuple[int, dt.date]:
    run = latest_run(conn, "coverage")
    if run is None:
        raise AnalysisError("priorities need a coverage analysis: run 'areavasta analyze' first")
    when = conn.execute(text("SELECT max(ref_date) FROM out.coverage_comune WHERE run_id = :r"), {"r": run}).scalar()
    if when is None:
        raise AnalysisError(f"coverage run {run} has no municipality: run 'areavasta analyze' again")
    return run, when


def _sources(conn: Connection, run: int, when: dt.date, threshold: float) -> np.ndarray:
    rows = conn.execute(
        text(
            "SELECT ST_X(m.geom), ST_Y(m.geom) FROM out.coverage_comune cc "
            "JOIN ref.main_settlement m USING (pro_com_t) "
            "WHERE cc.run_id = :r AND cc.ftth_share >= :t AND cc.ref_date = :d ORDER BY m.id"
        ),
        {"r": run, "t": threshold, "d": when},
    ).all()
    return np.array(rows, dtype=float).reshape(-1, 2)


def _roads_synthetic(conn: Connection) -> bool:
    return bool(conn.execute(text("SELECT coalesce(bool_or(synthetic), false) FROM net.edge")).scalar())


def benefit(targets: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    """Persons served (DOMAIN §4.3 with weights in persons, not shares): people, households, civic numbers and
    schools, each with its scenario weight."""
    return (
        scenario.weight_population * targets["population"].to_numpy(dtype=float)
        + scenario.weight_households * targets["households"].to_numpy(dtype=float)
        + scenario.weight_civici * targets["civici"].to_numpy(dtype=float)
        + scenario.weight_schools * targets["schools"].to_numpy(dtype=float)
    )


def _select(
    graph: Graph,
    sources: np.ndarray,
    nodes: np.ndarray,
    fixed: np.ndarray,
    gain: np.ndarray,
    ids: np.ndarray,
    budget: float,
) -> tuple[list[int], dict[int, tuple[float, list[int]]], np.ndarray]:
    """Greedy by benefit over marginal capex within the budget: each step takes the best target among those whose
    cost from the network grown so far still fits what is left (a target too dear now may fit once the network
    comes nearer), and stops when none fits. Also what each target would cost from the final network (inf where
    no road reaches it): for one left out, more than the budget has left."""
    distance, predecessors, _ = graph.from_sources(sources)
    remaining = np.ones(len(nodes), dtype=bool)
    chosen: list[int] = []
    marginal: dict[int, tuple[float, list[int]]] = {}
    spent = 0.0
    while True:
        capex = distance[nodes] + fixed
        affordable = np.flatnonzero(remaining & np.isfinite(capex) & (spent + capex <= budget))
        if affordable.size == 0:
            break
        ratio = gain[affordable] / np.maximum(capex[affordable], 1e-9)
        best = int(affordable[np.lexsort((ids[affordable], -ratio))[0]])
        remaining[best] = False
        cost = float(capex[best])
        path = graph.walk(predecessors, int(nodes[best]))
        marginal[best] = (cost, path)
        spent += cost
        chosen.append(best)
        new_nodes = np.unique(np.concatenate([[nodes[best]], graph.network.u[path], graph.network.v[path]]))
        extra_distance, extra_predecessors, _ = graph.from_sources(new_nodes)
        better = extra_distance < distance
        distance[better] = extra_distance[better]
        predecessors[better] = extra_predecessors[better]
    return chosen, marginal, distance[nodes] + fixed


def _rank(gain: np.ndarray, capex: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Rank (1 = best) of every target by benefit per euro of ``capex``; unreachable ones last."""
    ratio = np.where(np.isfinite(capex), gain / np.maximum(capex, 1e-9), -np.inf)
    order = np.lexsort((ids, -ratio))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3:
        return None
    from scipy.stats import spearmanr  # scipy.stats takes over a second to import: the service never needs it

    value = spearmanr(a, b).statistic
    return None if not np.isfinite(value) else round(float(value), 4)


def _road_classes(network: RoadNetwork, routes: list[list[int]]) -> list[str | None]:
    """For each route (its edges), the km it runs on each road class, longest first; None for no route.

    One grouped sum over every route's edges: a grouped sum per route took about 3 ms each."""
    route_of = np.repeat(np.arange(len(routes)), [len(edges) for edges in routes])
    edges = np.fromiter((e for route in routes for e in route), dtype=np.int64, count=len(route_of))
    km = pd.Series(network.length[edges]).groupby([route_of, network.highway[edges]]).sum() / 1000
    classes: list[list[tuple[str, float]]] = [[] for _ in routes]
    for route, highway, value in zip(  # by route, then class name: ties stay in name order
        km.index.get_level_values(0), km.index.get_level_values(1), km.to_numpy(), strict=True
    ):
        classes[route].append((str(highway), float(value)))
    return [
        "; ".join(f"{highway} {number(value, 1)} km" for highway, value in sorted(found, key=lambda c: -c[1]))
        if found
        else None
        for found in classes
    ]


def _edge_geometries(engine: Engine, network: RoadNetwork, positions: set[int]) -> dict[int, shapely.LineString]:
    """Geometries of the edges at ``positions`` (as RoadNetwork numbers them): only those routes use, not all."""
    ids = network.edge_ids[sorted(positions)].tolist()
    query = text("SELECT id, geom FROM net.edge WHERE id = ANY(:ids)")
    with engine.connect() as conn:
        found = gpd.read_postgis(query, conn, geom_col="geom", params={"ids": ids})
    # RoadNetwork holds the edges in id order, so an id's position is found by binary search
    where = np.searchsorted(network.edge_ids, found["id"].to_numpy())
    return dict(zip(where.tolist(), found.geometry, strict=True))


def _route_geometry(geometries: dict[int, shapely.LineString], edges: list[int]) -> shapely.MultiLineString | None:
    """The route's edges (positions, as RoadNetwork numbers them) as one MultiLineString."""
    if not edges:
        return None
    return shapely.MultiLineString([geometries[e] for e in edges])


@dataclass
class Plan:
    """The targets with their costs and ranking, the cell placements, and the run's summary figures."""

    items: gpd.GeoDataFrame
    placements: gpd.GeoDataFrame
    summary: dict[str, Any]


def compute(engine: Engine, scenario: Scenario, costs: UnitCosts | None = None) -> Plan:
    """The ranked list (not stored): one row per target with costs and their range, benefit terms, selection,
    input status and reason; the modelled placement of the civic numbers; the run's summary."""
    costs = costs or unit_costs()
    kinds = geotypes()
    with engine.connect() as conn:
        coverage_run, when = _coverage(conn)
        civic, placements = civic_targets(conn, coverage_run, when, costs, kinds, coverage_rules())
        schools = school_targets(conn, coverage_run, costs, kinds, scenario.weight_schools)
        source_sets = {
            t: _sources(conn, coverage_run, when, t)
            for t in (
                scenario.fibre_source_min_ftth_share,
                max(0.0, scenario.fibre_source_min_ftth_share - scenario.stability_threshold_step),
                min(1.0, scenario.fibre_source_min_ftth_share + scenario.stability_threshold_step),
            )
        }
        synthetic = _roads_synthetic(conn)
    civic["school_weight"] = scenario.weight_schools
    targets = pd.concat([civic, schools], ignore_index=True).sort_values("target_id").reset_index(drop=True)
    targets = gpd.GeoDataFrame(targets, geometry="geom", crs=civic.crs)
    if targets.empty:
        raise AnalysisError("no targets: no school or civic number on the Infratel list in the latest coverage run")
    source_xy = source_sets[scenario.fibre_source_min_ftth_share]
    if len(source_xy) == 0:
        raise AnalysisError(
            f"no fibre source: no municipality reaches the FTTH share {scenario.fibre_source_min_ftth_share}"
        )
    network = RoadNetwork.load(engine)
    edge = {b: edge_costs(network.length, network.highway, scenario, costs, b) for b in BOUNDS}
    graph = network.graph(edge["central"])
    nodes, snap = graph.nearest(point_of(targets.geometry))
    sources, _ = graph.nearest(source_xy)
    routes = graph.routes(sources, nodes)

    out = targets.copy()
    weights = np.maximum(out["civici"].to_numpy(dtype=float) + out["schools"].to_numpy(dtype=float), 1.0)
    _, shared = graph.shared_costs(sources, nodes, weights, [edge[b] for b in BOUNDS])
    for b, share in zip(BOUNDS, shared, strict=True):
        out[f"backhaul_{b}"] = share + snap * costs.civil_per_m(scenario.method, b)
        out[f"capex_{b}"] = out[f"backhaul_{b}"] + out[f"distribution_{b}"] + out[f"drops_{b}"]
    gain = benefit(out, scenario)
    ids = out["target_id"].to_numpy()
    fixed = (snap * costs.civil_per_m(scenario.method) + out["distribution_central"] + out["drops_central"]).to_numpy()
    chosen, marginal, after = _select(graph, sources, nodes, fixed, gain, ids, scenario.budget_eur)

    ranks = {b: _rank(gain, out[f"capex_{b}"].to_numpy(), ids) for b in BOUNDS}
    stability: dict[str, float | None] = {
        "spearman_low_central": _spearman(ranks["low"], ranks["central"]),
        "spearman_high_central": _spearman(ranks["high"], ranks["central"]),
    }
    for label, step in (("minus", -scenario.stability_threshold_step), ("plus", scenario.stability_threshold_step)):
        other = source_sets[min(1.0, max(0.0, scenario.fibre_source_min_ftth_share + step))]
        key = f"spearman_source_threshold_{label}"
        if len(other) == 0:
            stability[key] = None
            continue
        _, (other_share,) = graph.shared_costs(graph.nearest(other)[0], nodes, weights, [edge["central"]])
        capex = other_share + fixed
        stability[key] = _spearman(_rank(gain, capex, ids), ranks["central"])

    out["benefit"] = gain
    out["capex_eur"] = out["capex_central"]
    out["capex_low_eur"] = out["capex_low"]
    out["capex_high_eur"] = out["capex_high"]
    out["backhaul_eur"] = out["backhaul_central"]
    out["distribution_eur"] = out["distribution_central"]
    out["drops_eur"] = out["drops_central"]
    out["route_length_m"] = [r.length_m + s if r else np.nan for r, s in zip(routes, snap, strict=True)]
    out["npv_eur"] = npv(out["capex_eur"].to_numpy(), scenario, costs)
    out["marginal_capex_eur"] = [
        marginal[i][0] if i in marginal else (after[i] if np.isfinite(after[i]) else np.nan) for i in range(len(out))
    ]
    out["bc_ratio"] = out["benefit"] / out["capex_eur"].where(out["capex_eur"] > 0)
    out["eur_per_civico"] = out["capex_eur"] / out["civici"].where(out["civici"] > 0)
    out["eur_per_household"] = out["capex_eur"] / out["households"].where(out["households"] > 0)
    out["eur_per_person"] = out["capex_eur"] / out["population"].where(out["population"] > 0)
    # the benchmark has no connections: neither has the figure it is compared with; a school address is one location
    locations = np.where(out["kind"] == "school", 1, np.maximum(out["civici"], 1))
    per_location = (out["capex_eur"] - out["drops_eur"]) / locations
    out["above_cost_cap"] = (per_location > costs.cost_cap()).where(out["capex_eur"].notna())
    out["selected"] = False
    out.loc[chosen, "selected"] = True
    out["cumulative_eur"] = np.nan
    out.loc[chosen, "cumulative_eur"] = np.cumsum([marginal[i][0] for i in chosen])
    out["rank_low"] = ranks["low"]
    out["rank_central"] = ranks["central"]
    out["rank_high"] = ranks["high"]
    rest = out.loc[~out["selected"]].sort_values(["bc_ratio", "target_id"], ascending=[False, True], na_position="last")
    out["rank"] = pd.Series(np.arange(1, len(out) + 1), index=[*chosen, *rest.index])
    route_edges = [
        marginal[i][1] if i in marginal else (route.edges if route is not None else [])
        for i, route in enumerate(routes[: len(out)])
    ]
    geometries = _edge_geometries(engine, network, {e for edges in route_edges for e in edges})
    out["route"] = [_route_geometry(geometries, edges) for edges in route_edges]
    out["road_classes"] = _road_classes(network, route_edges)
    out["scenario"] = scenario.name
    out["roads_status"] = "synthetic" if synthetic else "surveyed"
    out["sources_status"] = "proxy"
    out["coverage_run_id"] = coverage_run
    out["coverage_ref_date"] = when
    out["geotype_label"] = out["geotype"].map(kinds.labels)
    left = scenario.budget_eur - sum(marginal[i][0] for i in chosen)
    out["reason"] = [_reason(row, routes[i], scenario, costs, left) for i, row in enumerate(out.to_dict("records"))]
    out = out.sort_values("rank").reset_index(drop=True)
    summary = _summary(out, scenario, costs, stability, source_xy, synthetic, int(placements["civici_by_street"].sum()))
    return Plan(out, placements, summary)


def _summary(
    items: pd.DataFrame,
    scenario: Scenario,
    costs: UnitCosts,
    stability: dict[str, float | None],
    sources: np.ndarray,
    synthetic: bool,
    placed_by_street: int,
) -> dict[str, Any]:
    """Figures of the whole list, in the units the published benchmarks use (€ of capex per civic number)."""
    civic = items[(items["kind"] == "civic_cluster") & np.isfinite(items["capex_eur"])]
    chosen = items[items["selected"]]
    chosen_civic = chosen[chosen["kind"] == "civic_cluster"]
    per_civic = {
        b: float(civic[f"capex_{b}"].sum() / civic["civici"].sum()) if civic["civici"].sum() else None for b in BOUNDS
    }
    return {
        "targets": len(items),
        "selected": len(chosen),
        "budget_eur": scenario.budget_eur,
        "spent_eur": float(chosen["marginal_capex_eur"].sum()),
        "civici_listed": int(items["civici"].sum()),
        "civici_selected": int(chosen["civici"].sum()),
        "eur_per_civico_list": per_civic,
        "eur_per_civico_median": float(civic["eur_per_civico"].median()) if not civic.empty else None,
        "eur_per_civico_selected": (
            float(chosen_civic["marginal_capex_eur"].sum() / chosen_civic["civici"].sum())
            if chosen_civic["civici"].sum()
            else None
        ),
        "selected_capex_eur": {b: float(chosen[f"capex_{b}"].sum()) for b in BOUNDS},
        "cost_cap_eur_per_location": costs.cost_cap(),
        "cost_cap_factor": costs.value("cost_cap_factor"),
        "above_cost_cap": int(items["above_cost_cap"].fillna(False).astype(bool).sum()),
        "drops_only_targets": int(
            (np.isclose(items["capex_eur"], items["drops_eur"]) & np.isfinite(items["capex_eur"])).sum()
        ),
        "ranking_stability": stability,
        "fibre_sources": len(sources),
        "price_year": costs.price_year,
        "unit_costs_version": costs.version,
        "roads": "synthetic" if synthetic else "surveyed",
        "civici_placed_by_street": int(placed_by_street),
        # the lot's figures are also the rural distribution's low and central values: a check of magnitude, not an
        # independent test (docs/priorities.md)
        "benchmark_eur_per_civico": {
            "italia_1_giga_lombardia_public": costs.value("premise_rural", "low"),
            "italia_1_giga_lombardia_total": costs.value("premise_rural", "central"),
        },
        "unit_costs": {
            item: {**{b: round(values[b], 4) for b in BOUNDS}, "source": costs.sources.get(item, "")}
            for item, values in sorted(costs.values.items())
        },
    }


def _reason(row: dict[str, Any], route: Route | None, scenario: Scenario, costs: UnitCosts, left: float) -> str:
    """Why the target ranks where it does, in Italian, with every figure in its unit; ``left`` is what the selection
    leaves of the budget."""
    if row["kind"] == "civic_cluster":
        cells = f"{number(row['cells'])} {'cella' if row['cells'] == 1 else 'celle'}"
        where = f"in {cells} da 1 km" if row["cells"] else "presso il centro abitato principale"
        civici = f"{number(row['civici'])} {'civico' if row['civici'] == 1 else 'civici'}"
        what = (
            f"{civici} senza >300 Mbit/s {where} (densità {row['geotype_label']}), "
            f"circa {number(row['population'])} persone"
        )
    else:
        what = (
            "scuola con indirizzo nell'elenco Infratel"
            if row["schools"] == 1
            else f"{number(row['schools'])} scuole allo stesso indirizzo dell'elenco Infratel (un solo allaccio)"
        )
        if row["location"] == "approximate":
            what += (
                " (posizione approssimata al centro abitato o al comune, non all'indirizzo: percorso e costo sono "
                "indicativi)"
            )
    if route is None:
        return f"{what}; nessun percorso sulla rete stradale utilizzabile da una fonte in fibra"
    cost = (
        f"costo {euro(row['capex_eur'])} (intervallo {euro(row['capex_low_eur'])}–{euro(row['capex_high_eur'])}): "
        f"quota della dorsale condivisa {euro(row['backhaul_eur'])} (percorso di "
        f"{number(row['route_length_m'] / 1000, 1)} km dalla fonte in fibra), "
        f"distribuzione {euro(row['distribution_eur'])}, allacci {euro(row['drops_eur'])}"
    )
    if row["civici"]:
        cost += f"; {euro(row['eur_per_civico'])} per civico"
    if row["above_cost_cap"]:
        cost += (
            f"; senza allacci oltre {euro(costs.cost_cap())} per civico o scuola "
            f"({number(costs.value('cost_cap_factor'))} volte il costo per civico del lotto Italia 1 Giga Lombardia): "
            "da confrontare con FWA o satellite"
        )
    gain = f"{number(row['benefit'])} persone servite, {number(row['bc_ratio'] * 1e6, 1)} per milione di euro"
    if row["selected"]:
        return (
            f"{what}; {gain}; {cost}; nella selezione costa {euro(row['marginal_capex_eur'])} dalla rete dei "
            "selezionati prima (il costo sopra è la sua quota della rete di tutta la lista); "
            f"cumulato {euro(row['cumulative_eur'])} su {euro(scenario.budget_eur)}"
        )
    if np.isfinite(row["marginal_capex_eur"]):
        return (
            f"{what}; {gain}; {cost}; aggiungerlo alla rete dei selezionati costerebbe "
            f"{euro(row['marginal_capex_eur'])}, più dei {euro(left)} che restano del budget di "
            f"{euro(scenario.budget_eur)}"
        )
    return f"{what}; {gain}; {cost}; non rientra nel budget di {euro(scenario.budget_eur)}"


def analyze(engine: Engine, scenario: Scenario | None = None) -> Run:
    """Compute and store a priorities run for ``scenario``; nothing is stored if the inputs cannot be used."""
    scenario = scenario or Scenario()
    costs = unit_costs()  # a reference table that cannot be used is refused here, before any run is recorded
    plan = compute(engine, scenario, costs)

    def body(conn: Connection, run: Run) -> None:
        with run.step("store"):
            items = pd.DataFrame(plan.items[list(ITEM_COLUMNS)])
            items["geom"] = shapely.to_wkb(plan.items.geometry.to_numpy(), hex=True)
            items["route"] = [None if g is None else shapely.to_wkb(g, hex=True) for g in plan.items["route"]]
            items["run_id"] = run.id
            insert_rows(conn, "out.priority_item", items, ("geom", "route"))
            placements = pd.DataFrame(plan.placements.drop(columns="geometry"))
            placements["geom"] = shapely.to_wkb(plan.placements.geometry.to_numpy(), hex=True)
            placements["run_id"] = run.id
            insert_rows(conn, "out.priority_placement", placements, ("geom",))
            conn.execute(
                text("UPDATE out.analysis_run SET summary = CAST(:s AS jsonb) WHERE id = :i"),
                {"s": json.dumps(plan.summary, default=float), "i": run.id},
            )

    parameters = {**scenario.model_dump(), "fibre_sources": SOURCE_PROXY, "price_year": costs.price_year}
    versions = {"unit_costs": costs.version, "geotypes": geotypes().version, "school_levels": school_levels().version}
    return run_analysis(engine, KIND, parameters, versions, body)
