"""Road networks: OpenStreetMap through osmnx (``.osm`` XML, ``.osm.pbf`` through pyosmium, or Overpass when online),
stored as nodes and undirected edges in the working CRS, ready for routing.

The synthetic network of :mod:`geo.ingest.synthetic_roads` goes through the same loader, flagged as synthetic.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import Connection, Engine

from geo.ingest.layers import ROADS, Context
from geo.ingest.pipeline import IngestError, IngestResult, Prepared, Problem, Source, TableLoad, run_ingest
from geo.models import RoadEdge, RoadNode

LAYER = ROADS.name
OSM_SUFFIXES = (".osm", ".osm.xml", ".xml", ".osm.pbf", ".pbf")


@dataclass
class RoadGraph:
    """Nodes (``id``, ``osm_id``, geometry) and undirected edges (``source``, ``target``, ``osm_id``, ``highway``,
    ``name``, geometry), in any CRS."""

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    source: Source
    label: str
    synthetic: bool = False


def _first(value: object) -> object:
    """osmnx merges the tags of simplified ways into lists; keep the first value."""
    if isinstance(value, list):
        return value[0] if value else None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def roads_only(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The highway=* ways of an unsimplified osmnx graph, simplified without merging different road classes."""
    import osmnx as ox

    graph = graph.copy()
    graph.remove_edges_from([(u, v, k) for u, v, k, tag in graph.edges(keys=True, data="highway") if not tag])
    graph.remove_nodes_from([n for n, degree in dict(graph.degree()).items() if degree == 0])
    if graph.number_of_edges() == 0:
        return graph
    return ox.simplification.simplify_graph(graph, edge_attrs_differ=["highway"])


def from_osmnx_graph(graph: nx.MultiDiGraph, source: Source, label: str) -> RoadGraph:
    """Nodes and undirected edges of a simplified osmnx graph (reverse duplicates of two-way streets dropped)."""
    import osmnx as ox

    if graph.number_of_edges() == 0:
        raise IngestError(label, [Problem("no road (highway=*) way in the data")])
    undirected = ox.convert.to_undirected(graph)
    nodes, edges = ox.convert.graph_to_gdfs(undirected)
    edges = edges.reset_index()
    nodes = nodes.reset_index()
    node_frame = gpd.GeoDataFrame(
        {"id": nodes["osmid"].astype("int64"), "osm_id": nodes["osmid"].astype("int64")},
        geometry=nodes.geometry.values,
        crs=nodes.crs,
    )
    edge_frame = gpd.GeoDataFrame(
        {
            "source": edges["u"].astype("int64"),
            "target": edges["v"].astype("int64"),
            "osm_id": edges["osmid"].map(_first).astype("Int64"),
            "highway": edges["highway"].map(_first).astype(object),
            "name": edges["name"].map(_first).astype(object) if "name" in edges.columns else None,
        },
        geometry=edges.geometry.values,
        crs=edges.crs,
    )
    edge_frame = edge_frame[edge_frame["source"] != edge_frame["target"]]
    return RoadGraph(node_frame, edge_frame, source, label)


def _pbf_to_xml(path: Path, folder: Path) -> Path:
    import osmium

    target = folder / (path.name.split(".")[0] + ".osm")
    with osmium.SimpleWriter(str(target)) as writer:
        for obj in osmium.FileProcessor(str(path)):
            writer.add(obj)
    return target


def read_osm(path: Path) -> RoadGraph:
    """An OSM extract (XML or PBF) as a road graph, through osmnx (every highway way kept)."""
    import osmnx as ox

    label = str(path)
    if not path.exists():
        raise IngestError(label, [Problem("no such file")])
    if path.stat().st_size == 0:
        raise IngestError(label, [Problem("the file is empty")])
    with tempfile.TemporaryDirectory() as tmp:
        xml = _pbf_to_xml(path, Path(tmp)) if path.name.endswith(".pbf") else path
        try:
            graph = ox.graph_from_xml(xml, bidirectional=True, simplify=False, retain_all=True)
        except Exception as exc:  # osmnx and the XML parser raise many types for broken files
            raise IngestError(label, [Problem(f"cannot read the OSM data (truncated?): {exc}")]) from exc
    return from_osmnx_graph(roads_only(graph), Source.from_path(path), label)


def read_overpass(boundary_wgs84: shapely.Geometry, network_type: str = "drive") -> RoadGraph:
    """Roads inside ``boundary_wgs84`` from the Overpass API (needs the internet)."""
    import osmnx as ox

    graph = ox.graph_from_polygon(
        cast(Polygon | MultiPolygon, boundary_wgs84), network_type=network_type, simplify=False, retain_all=True
    )
    return from_osmnx_graph(roads_only(graph), Source(f"overpass:{ox.settings.overpass_url}", None), "Overpass API")


def prepare(graph: RoadGraph, srid: int) -> Prepared:
    """Validated rows in the working CRS: lengths in metres from the projected geometry."""
    nodes = graph.nodes.to_crs(epsg=srid)
    edges = graph.edges.to_crs(epsg=srid)
    problems: list[Problem] = []
    missing = ~edges["source"].isin(nodes["id"]) | ~edges["target"].isin(nodes["id"])
    problems += [Problem(f"edge {i} ends at a node that is not in the data") for i in np.flatnonzero(missing)[:20]]
    if nodes["id"].duplicated().any():
        problems.append(Problem("duplicate node ids"))
    no_class = edges["highway"].isna()
    problems += [Problem(f"edge {i} has no highway class") for i in np.flatnonzero(no_class)[:20]]
    if problems:
        raise IngestError(graph.label, problems)
    edges = edges.assign(length_m=edges.length.to_numpy())
    edges = edges[edges["length_m"] > 0]
    edge_rows = gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(edges) + 1, dtype="int64"),
            "source": edges["source"].to_numpy(),
            "target": edges["target"].to_numpy(),
            "osm_id": edges["osm_id"].to_numpy() if "osm_id" in edges.columns else None,
            "highway": edges["highway"].astype(str).to_numpy(),
            "name": edges["name"].to_numpy() if "name" in edges.columns else None,
            "length_m": edges["length_m"].to_numpy(),
            "synthetic": graph.synthetic,
        },
        geometry=edges.geometry.values,
        crs=srid,
    ).rename_geometry("geom")
    used = pd.unique(np.concatenate([edge_rows["source"].to_numpy(), edge_rows["target"].to_numpy()]))
    node_rows = nodes[nodes["id"].isin(used)].rename_geometry("geom")
    by_class = edge_rows.groupby("highway")["length_m"].sum().div(1000).round(1)
    return Prepared(
        loads=[TableLoad(RoadNode.__table__, node_rows, counted=False), TableLoad(RoadEdge.__table__, edge_rows)],
        rows_read=len(graph.edges),
        details={
            "nodes": len(node_rows),
            "edges": len(edge_rows),
            "km_by_highway": {str(k): float(v) for k, v in by_class.items()},
            "synthetic": graph.synthetic,
        },
    )


def ingest(engine: Engine, graph: RoadGraph, srid: int) -> IngestResult:
    """Replace the road network in one transaction."""

    def _prepare(_conn: Connection) -> Prepared:
        return prepare(graph, srid)

    return run_ingest(engine, LAYER, graph.source, _prepare, synthetic=graph.synthetic)


def load(engine: Engine, path: Path, context: Context) -> IngestResult:
    """One OSM extract, as ``ingest all`` loads it."""
    return ingest(engine, read_osm(path), context.srid)
