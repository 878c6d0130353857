"""Infrastructure priorities: where public money connects the most people, civic numbers and schools per euro.

Targets are schools whose address is on the Infratel list and, per municipality, the cluster of its listed civic
numbers (located at the main settlement: the list has no coordinates). Fibre sources are a documented proxy:
the main settlements of municipalities whose FTTH household share reaches the scenario's threshold. Each target
gets its standalone route from the nearest source; a greedy selection by benefit over marginal NPV, with the
network grown by every selected route, fills the budget.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from geo.analysis.costs import Scenario, UnitCosts, edge_costs, npv, unit_costs
from geo.analysis.routing import Graph, RoadNetwork
from geo.analysis.runs import AnalysisError, Run, latest_run, run_analysis

KIND = "priorities"
SOURCE_PROXY = "main settlements of municipalities whose AGCOM FTTH household share reaches the threshold"


def _targets(conn: Connection, coverage_run: int) -> gpd.GeoDataFrame:
    schools = gpd.read_postgis(
        text(
            "SELECT 'school:' || s.codicescuola AS target_id, 'school' AS kind, s.denominazione AS name, "
            "s.pro_com_t, c.cod_uts, s.geocode_quality, 0.0 AS population, 0.0 AS households, 0 AS civici, "
            "1 AS schools, s.geom FROM out.school_connectivity c JOIN school.scuola_located s USING (codicescuola) "
            "WHERE c.run_id = :r AND c.gap"
        ),
        conn,
        geom_col="geom",
        params={"r": coverage_run},
    )
    clusters = gpd.read_postgis(
        text(
            "SELECT 'civici:' || cc.pro_com_t AS target_id, 'civic_cluster' AS kind, c.comune AS name, cc.pro_com_t, "
            "cc.cod_uts, 'settlement' AS geocode_quality, "
            "coalesce(cc.population_without_ftth, 0)::float8 AS population, "
            "coalesce(cc.households_without_ftth, 0)::float8 AS households, cc.civici_unserved AS civici, "
            "0 AS schools, m.geom FROM out.coverage_comune cc JOIN ref.comune c USING (pro_com_t) "
            "JOIN ref.main_settlement m USING (pro_com_t) WHERE cc.run_id = :r AND cc.civici_unserved > 0 "
            "AND cc.ref_date = (SELECT max(ref_date) FROM out.coverage_comune WHERE run_id = :r)"
        ),
        conn,
        geom_col="geom",
        params={"r": coverage_run},
    )
    return pd.concat([clusters, schools], ignore_index=True).sort_values("target_id").reset_index(drop=True)


def _sources(conn: Connection, coverage_run: int, threshold: float) -> np.ndarray:
    rows = conn.execute(
        text(
            "SELECT ST_X(m.geom), ST_Y(m.geom) FROM out.coverage_comune cc "
            "JOIN ref.main_settlement m USING (pro_com_t) "
            "WHERE cc.run_id = :r AND cc.ftth_share >= :t "
            "AND cc.ref_date = (SELECT max(ref_date) FROM out.coverage_comune WHERE run_id = :r) ORDER BY m.id"
        ),
        {"r": coverage_run, "t": threshold},
    ).all()
    return np.array(rows, dtype=float).reshape(-1, 2)


def _benefit(targets: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    """Weighted sum of each benefit term divided by its total over the targets (DOMAIN §4.3)."""
    terms = {
        "population": scenario.weight_population,
        "households": scenario.weight_households,
        "civici": scenario.weight_civici,
        "schools": scenario.weight_schools,
    }
    total = np.zeros(len(targets))
    for column, weight in terms.items():
        values = targets[column].to_numpy(dtype=float)
        if values.sum() > 0:
            total += weight * values / values.sum()
    return total


def _select(
    graph: Graph,
    sources: np.ndarray,
    nodes: np.ndarray,
    access: np.ndarray,
    benefit: np.ndarray,
    ids: np.ndarray,
    scenario: Scenario,
    costs: UnitCosts,
) -> tuple[list[int], dict[int, tuple[float, list[int]]]]:
    """Greedy by benefit over marginal NPV, the network growing with every selected route, within the budget."""
    distance, predecessors, _ = graph.from_sources(sources)
    remaining = set(range(len(nodes)))
    chosen: list[int] = []
    marginal: dict[int, tuple[float, list[int]]] = {}
    spent = 0.0
    while remaining:
        candidates = [i for i in remaining if np.isfinite(distance[nodes[i]])]
        if not candidates:
            break
        capex = {i: float(distance[nodes[i]]) + access[i] for i in candidates}
        ratio = {i: benefit[i] / max(float(npv(capex[i], scenario, costs)), 1e-9) for i in candidates}
        best = min(candidates, key=lambda i: (-ratio[i], ids[i]))
        remaining.discard(best)
        if spent + capex[best] > scenario.budget_eur:
            continue
        path = graph.walk(predecessors, int(nodes[best]))
        marginal[best] = (capex[best], path)
        spent += capex[best]
        chosen.append(best)
        new_nodes = np.unique(np.concatenate([[nodes[best]], graph.network.u[path], graph.network.v[path]]))
        extra_distance, extra_predecessors, _ = graph.from_sources(new_nodes)
        better = extra_distance < distance
        distance[better] = extra_distance[better]
        predecessors[better] = extra_predecessors[better]
    return chosen, marginal


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


def compute(engine: Engine, scenario: Scenario, costs: UnitCosts | None = None) -> pd.DataFrame:
    """The ranked list (not stored): one row per target with costs, benefit terms, selection and reason."""
    costs = costs or unit_costs()
    with engine.connect() as conn:
        coverage_run = latest_run(conn, "coverage")
        if coverage_run is None:
            raise AnalysisError("priorities need a coverage analysis: run 'areavasta analyze' first")
        targets = _targets(conn, coverage_run)
        source_xy = _sources(conn, coverage_run, scenario.fibre_source_min_ftth_share)
    if targets.empty:
        raise AnalysisError("no targets: no school or civic number on the Infratel list in the latest coverage run")
    if len(source_xy) == 0:
        raise AnalysisError(
            f"no fibre source: no municipality reaches the FTTH share {scenario.fibre_source_min_ftth_share}"
        )
    network = RoadNetwork.load(engine)
    graph = network.graph(edge_costs(network.length, network.highway, scenario, costs))
    sources, _ = graph.nearest(source_xy)
    xy = np.column_stack([targets.geometry.x, targets.geometry.y])
    nodes, snap = graph.nearest(xy)
    access = snap * costs.civil_per_m(scenario.method) + costs.values["drop"]
    routes = graph.routes(sources, nodes)
    benefit = _benefit(targets, scenario)
    ids = targets["target_id"].to_numpy()
    chosen, marginal = _select(graph, sources, nodes, access, benefit, ids, scenario, costs)
    out = targets.copy()
    out["benefit"] = benefit
    out["route_length_m"] = [r.length_m + s if r else np.nan for r, s in zip(routes, snap, strict=True)]
    out["capex_eur"] = [r.cost + a if r else np.nan for r, a in zip(routes, access, strict=True)]
    out["npv_eur"] = npv(out["capex_eur"].to_numpy(), scenario, costs)
    out["marginal_capex_eur"] = [marginal[i][0] if i in marginal else np.nan for i in range(len(out))]
    out["bc_ratio"] = out["benefit"] / out["npv_eur"].where(out["npv_eur"] > 0)
    out["eur_per_civico"] = out["npv_eur"] / out["civici"].where(out["civici"] > 0)
    out["eur_per_person"] = out["npv_eur"] / out["population"].where(out["population"] > 0)
    out["selected"] = False
    out.loc[chosen, "selected"] = True
    order = {index: position for position, index in enumerate(chosen)}
    cumulative = np.cumsum([marginal[i][0] for i in chosen])
    out["cumulative_eur"] = np.nan
    out.loc[chosen, "cumulative_eur"] = cumulative
    rest = out.loc[~out["selected"]].sort_values(["bc_ratio", "target_id"], ascending=[False, True], na_position="last")
    ranking = [*chosen, *rest.index]
    out["rank"] = pd.Series(np.arange(1, len(out) + 1), index=ranking)
    route_edges = [marginal[i][1] if i in marginal else (routes[i].edges if routes[i] else []) for i in range(len(out))]
    geometries = _edge_geometries(engine, network, {e for edges in route_edges for e in edges})
    out["route"] = [_route_geometry(geometries, edges) for edges in route_edges]
    out["reason"] = [_reason(out.loc[i], i in order, scenario) for i in range(len(out))]
    return out.sort_values("rank").reset_index(drop=True)


def _reason(row: pd.Series, selected: bool, scenario: Scenario) -> str:
    what = (
        f"{row['civici']} listed civic numbers, about {row['population']:,.0f} people without FTTH"
        if row["kind"] == "civic_cluster"
        else "a school whose address is on the Infratel list"
    )
    if not np.isfinite(row["capex_eur"]):
        return f"{what}; no route on the usable road network from a fibre source"
    cost = f"standalone €{row['capex_eur']:,.0f} over {row['route_length_m'] / 1000:,.1f} km"
    if selected:
        return (
            f"{what}; benefit/cost {row['bc_ratio']:.3g}; built for €{row['marginal_capex_eur']:,.0f} from the "
            f"network grown so far ({cost}); cumulative €{row['cumulative_eur']:,.0f} of €{scenario.budget_eur:,.0f}"
        )
    return f"{what}; benefit/cost {row['bc_ratio']:.3g}; {cost}; not within the budget of €{scenario.budget_eur:,.0f}"


def analyze(engine: Engine, scenario: Scenario | None = None) -> Run:
    """Compute and store a priorities run for ``scenario``."""
    scenario = scenario or Scenario()
    costs = unit_costs()

    def body(conn: Connection, run: Run) -> None:
        with run.step("compute"):
            items = compute(engine, scenario, costs)
        with run.step("store"):
            rows = pd.DataFrame(items.drop(columns=["geom", "route"]))
            rows["geom"] = shapely.to_wkb(items["geom"].to_numpy(), hex=True)
            rows["route"] = [None if g is None else shapely.to_wkb(g, hex=True) for g in items["route"]]
            rows["run_id"] = run.id
            records = rows.astype(object).where(rows.notna(), None).to_dict("records")
            values = ", ".join(
                f"ST_SetSRID(ST_GeomFromWKB(decode(:{c}, 'hex')), 32632)" if c in ("geom", "route") else f":{c}"
                for c in rows.columns
            )
            conn.execute(text(f"INSERT INTO out.priority_item ({', '.join(rows.columns)}) VALUES ({values})"), records)

    return run_analysis(
        engine, KIND, {**scenario.model_dump(), "fibre_sources": SOURCE_PROXY}, {"unit_costs": costs.version}, body
    )
