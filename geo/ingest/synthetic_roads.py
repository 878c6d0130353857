"""A SYNTHETIC road network for areas with no OSM extract at hand, built from the real settlements, municipal
boundaries and population. It is plausible, not real: every edge and its ingest run carry ``synthetic = true``.

- Links: a Delaunay triangulation of the settlements, kept where shorter than ``max_link_m`` plus a minimum
  spanning tree so that the network is connected; classed by the population of the municipalities they join.
- Motorways: a spanning tree over the provincial capitals (the most populous municipality of each province).
- Local streets: a square grid of residential streets around each settlement, sized by its share of the
  municipality's population and clipped to the municipality.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import Delaunay
from sqlalchemy import Engine, text

from geo.ingest.pipeline import IngestError, Problem, Source
from geo.ingest.roads import RoadGraph

LABEL = "SYNTHETIC road network (generated; not surveyed)"


@dataclass(frozen=True)
class SynthParams:
    """Knobs of the generator; their values shape a plausible network, they are not measurements."""

    max_link_m: float = 9_000.0
    primary_min_population: int = 20_000
    secondary_min_population: int = 5_000
    main_settlement_share: float = 0.7
    street_spacing_m: float = 200.0
    metres_per_sqrt_inhabitant: float = 12.0
    min_grid_side_m: float = 400.0
    max_grid_side_m: float = 4_000.0
    grid_node_id_base: int = 10_000_000_000


def _inputs(engine: Engine) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    with engine.connect() as conn:
        settlements = gpd.read_postgis(
            text(
                # only the loaded territory's: settlements of a replaced territory stay until reloaded
                "SELECT s.id, s.pro_com_t, s.name, s.place, s.geom, (m.id = s.id) AS is_main "
                "FROM ref.settlement s JOIN ref.main_settlement m USING (pro_com_t) "
                "WHERE s.pro_com_t IN (SELECT pro_com_t FROM ref.comune) ORDER BY s.id"
            ),
            conn,
            geom_col="geom",
        )
        comuni = gpd.read_postgis(
            text(
                "SELECT c.pro_com_t, c.cod_uts, c.geom, coalesce(p.total, 0) AS population FROM ref.comune c "
                "LEFT JOIN (SELECT DISTINCT ON (pro_com_t) pro_com_t, total FROM ref.comune_population "
                "ORDER BY pro_com_t, ref_date DESC) p USING (pro_com_t) ORDER BY c.pro_com_t"
            ),
            conn,
            geom_col="geom",
        )
    if settlements.empty or comuni.empty:
        raise IngestError(LABEL, [Problem("needs municipalities and settlements loaded (ingest them first)")])
    return settlements, comuni


def _link_class(smaller_population: float, params: SynthParams) -> str:
    if smaller_population >= params.primary_min_population:
        return "primary"
    if smaller_population >= params.secondary_min_population:
        return "secondary"
    return "tertiary"


def _links(settlements: gpd.GeoDataFrame, population: pd.Series, params: SynthParams) -> pd.DataFrame:
    xy = np.column_stack([settlements.geometry.x, settlements.geometry.y])
    triangles = Delaunay(xy).simplices
    pairs = np.unique(np.sort(np.vstack([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [0, 2]]]), 1), axis=0)
    lengths = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    n = len(xy)
    tree = minimum_spanning_tree(coo_matrix((lengths, (pairs[:, 0], pairs[:, 1])), shape=(n, n))).tocoo()
    in_tree = {(min(a, b), max(a, b)) for a, b in zip(tree.row, tree.col, strict=True)}
    keep = np.array([(lengths[i] <= params.max_link_m) or (tuple(p) in in_tree) for i, p in enumerate(pairs)])
    pairs = pairs[keep]
    weight = population.to_numpy()
    smaller = np.minimum(weight[pairs[:, 0]], weight[pairs[:, 1]])
    ids = settlements["id"].to_numpy()
    return pd.DataFrame(
        {
            "source": ids[pairs[:, 0]],
            "target": ids[pairs[:, 1]],
            "highway": [_link_class(p, params) for p in smaller],
            "geometry": shapely.linestrings(np.stack([xy[pairs[:, 0]], xy[pairs[:, 1]]], axis=1)),
        }
    )


def _motorways(settlements: gpd.GeoDataFrame, comuni: gpd.GeoDataFrame) -> pd.DataFrame:
    capitals = comuni.sort_values("population", ascending=False).drop_duplicates("cod_uts")
    hubs = settlements[settlements["is_main"] & settlements["pro_com_t"].isin(capitals["pro_com_t"])]
    if len(hubs) < 2:
        return pd.DataFrame(columns=["source", "target", "highway", "geometry"])
    xy = np.column_stack([hubs.geometry.x, hubs.geometry.y])
    distances = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    tree = minimum_spanning_tree(distances).tocoo()
    ids = hubs["id"].to_numpy()
    return pd.DataFrame(
        {
            "source": ids[tree.row],
            "target": ids[tree.col],
            "highway": "motorway",
            "geometry": shapely.linestrings(np.stack([xy[tree.row], xy[tree.col]], axis=1)),
        }
    )


def _grid(
    centre_id: int, x: float, y: float, side: float, area: shapely.Geometry, params: SynthParams, next_id: int
) -> tuple[list[tuple[int, float, float]], list[tuple[int, int]]]:
    """A street grid centred on a settlement, clipped to its municipality, connected to the settlement node."""
    step = params.street_spacing_m
    half = int(side / step / 2)
    i, j = (a.ravel() for a in np.meshgrid(np.arange(-half, half + 1), np.arange(-half, half + 1), indexing="ij"))
    px, py = x + i * step, y + j * step
    inside = shapely.contains_xy(area, px, py) & ~((i == 0) & (j == 0))
    ids: dict[tuple[int, int], int] = {(0, 0): centre_id}
    nodes: list[tuple[int, float, float]] = []
    for k in np.flatnonzero(inside):
        ids[(int(i[k]), int(j[k]))] = next_id + len(nodes)
        nodes.append((next_id + len(nodes), float(px[k]), float(py[k])))
    cells = [(a, b) for a in ids for b in ((a[0] + 1, a[1]), (a[0], a[1] + 1)) if b in ids]
    if not cells:
        return [], []
    segments = shapely.linestrings(
        [[(x + a[0] * step, y + a[1] * step), (x + b[0] * step, y + b[1] * step)] for a, b in cells]
    )
    # a street whose ends are inside may still cross a bend of the boundary: keep only those wholly inside
    edges = [(ids[a], ids[b]) for (a, b), inside in zip(cells, shapely.covers(area, segments), strict=True) if inside]
    if not edges:
        return [], []
    # keep the part of the grid that reaches the settlement
    index = {node: k for k, node in enumerate(ids.values())}
    rows = [index[a] for a, _ in edges]
    cols = [index[b] for _, b in edges]
    _, labels = connected_components(coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(index),) * 2))
    reach = labels[index[centre_id]]
    keep_nodes = {node for node, k in index.items() if labels[k] == reach}
    return [n for n in nodes if n[0] in keep_nodes], [e for e in edges if e[0] in keep_nodes]


def build(engine: Engine, params: SynthParams | None = None) -> RoadGraph:
    """The synthetic network for the loaded municipalities and settlements, in the working CRS of the store."""
    params = params or SynthParams()
    settlements, comuni = _inputs(engine)
    shapely.prepare(comuni.geometry.values)
    srid = settlements.crs.to_epsg()
    population = comuni.set_index("pro_com_t")["population"]
    per_settlement = settlements["pro_com_t"].map(population).fillna(0)
    counts = settlements["pro_com_t"].map(settlements["pro_com_t"].value_counts())
    share = np.where(
        counts == 1,
        1.0,
        np.where(
            settlements["is_main"], params.main_settlement_share, (1 - params.main_settlement_share) / (counts - 1)
        ),
    )
    inhabitants = per_settlement * share
    edges = [_links(settlements, per_settlement, params), _motorways(settlements, comuni)]
    nodes = [(int(i), g.x, g.y) for i, g in zip(settlements["id"], settlements.geometry, strict=True)]
    areas = comuni.set_index("pro_com_t").geometry
    next_id = params.grid_node_id_base
    grid_edges: list[tuple[int, int]] = []
    for sid, code, point, people in zip(
        settlements["id"], settlements["pro_com_t"], settlements.geometry, inhabitants, strict=True
    ):
        side = float(
            np.clip(np.sqrt(people) * params.metres_per_sqrt_inhabitant, params.min_grid_side_m, params.max_grid_side_m)
        )
        new_nodes, new_edges = _grid(int(sid), point.x, point.y, side, areas[code], params, next_id)
        nodes += new_nodes
        next_id += len(new_nodes)
        grid_edges += new_edges
    node_frame = gpd.GeoDataFrame(
        {"id": [n[0] for n in nodes], "osm_id": None},
        geometry=shapely.points([(n[1], n[2]) for n in nodes]),
        crs=srid,
    )
    where = dict(zip(node_frame["id"], node_frame.geometry, strict=True))
    streets = pd.DataFrame(
        {
            "source": [a for a, _ in grid_edges],
            "target": [b for _, b in grid_edges],
            "highway": "residential",
            "geometry": [shapely.LineString([where[a], where[b]]) for a, b in grid_edges],
        }
    )
    all_edges = pd.concat([*edges, streets], ignore_index=True)
    all_edges = all_edges.drop_duplicates(["source", "target"])
    edge_frame = gpd.GeoDataFrame(all_edges.assign(osm_id=None, name=None), geometry="geometry", crs=srid)
    fingerprint = hashlib.sha256(
        json.dumps({"params": asdict(params), "edges": len(edge_frame), "nodes": len(node_frame)}).encode()
    ).hexdigest()
    return RoadGraph(
        node_frame, edge_frame, Source(f"synthetic:{json.dumps(asdict(params))}", fingerprint), LABEL, synthetic=True
    )
