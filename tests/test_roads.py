"""Road networks: the OSM path on real-format fixtures (XML and PBF), routing on the stored graph, and the
labelled synthetic network built from the real settlements."""

import numpy as np
import pytest
from pyproj import Geod
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from sqlalchemy import text

from geo.ingest import points, roads, synthetic_roads
from geo.ingest.pipeline import IngestError
from tests import osm_fixture

GEOD = Geod(ellps="WGS84")


def _geodesic(a: int, b: int) -> float:
    nodes = osm_fixture.grid_nodes()
    (lat1, lon1), (lat2, lon2) = nodes[a], nodes[b]
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def _edges(store):
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT source, target, highway, length_m, synthetic FROM net.edge")).all()


def _shortest(edges, start, end, excluded=()):
    kept = [e for e in edges if e.highway not in excluded]
    ids = sorted({e.source for e in kept} | {e.target for e in kept})
    index = {n: i for i, n in enumerate(ids)}
    graph = coo_matrix(
        ([e.length_m for e in kept], ([index[e.source] for e in kept], [index[e.target] for e in kept])),
        shape=(len(ids), len(ids)),
    )
    return dijkstra(graph, directed=False, indices=index[start])[index[end]]


def test_osm_xml_fixture_loads_every_road_and_nothing_else(store, tmp_path):
    path = osm_fixture.write_xml(tmp_path / "grid.osm")
    result = roads.ingest(store.engine, roads.read_osm(path), 32632)
    edges = _edges(store)
    assert result.rows_loaded == len(edges) == 14
    assert sorted({(e.highway, sum(1 for f in edges if f.highway == e.highway)) for e in edges}) == [
        ("motorway", 2),
        ("residential", 6),
        ("tertiary", 6),
    ]
    assert not any(e.synthetic for e in edges)
    for edge in edges:
        assert edge.length_m == pytest.approx(_geodesic(edge.source, edge.target), rel=2e-3)


def test_pbf_gives_the_same_network(store, tmp_path):
    roads.ingest(store.engine, roads.read_osm(osm_fixture.write_xml(tmp_path / "grid.osm")), 32632)
    result = roads.ingest(store.engine, roads.read_osm(osm_fixture.write_pbf(tmp_path / "grid.osm.pbf")), 32632)
    assert result.status == "unchanged"


def test_stored_graph_routes_by_the_shortest_path(store, tmp_path):
    roads.ingest(store.engine, roads.read_osm(osm_fixture.write_xml(tmp_path / "grid.osm")), 32632)
    edges = _edges(store)
    via_motorway = _geodesic(1, 5) + _geodesic(5, 9)
    assert _shortest(edges, 1, 9) == pytest.approx(via_motorway, rel=2e-3)
    streets = min(
        _geodesic(1, 2) + _geodesic(2, 3) + _geodesic(3, 6) + _geodesic(6, 9),
        _geodesic(1, 2) + _geodesic(2, 5) + _geodesic(5, 6) + _geodesic(6, 9),
    )
    assert _shortest(edges, 1, 9, excluded={"motorway"}) == pytest.approx(streets, rel=2e-3)


@pytest.mark.parametrize(("content", "message"), [("", "the file is empty"), ("<osm><node id=", "cannot read")])
def test_broken_osm_files(store, tmp_path, content, message):
    path = tmp_path / "bad.osm"
    path.write_text(content)
    with pytest.raises(IngestError, match=message):
        roads.read_osm(path)


def test_osm_without_roads_is_refused(tmp_path):
    path = tmp_path / "none.osm"
    path.write_text(
        '<osm version="0.6"><node id="1" lat="45.7" lon="9.6"/><node id="2" lat="45.71" lon="9.6"/>'
        '<way id="9"><nd ref="1"/><nd ref="2"/><tag k="building" v="yes"/></way></osm>'
    )
    with pytest.raises(IngestError, match="no road"):
        roads.read_osm(path)


@pytest.fixture(scope="module")
def synthetic(area_vasta, shared_data):
    points.ingest_settlements(
        area_vasta.engine,
        shared_data / "osm_centri_abitati" / "centri_abitati_osm_area_vasta.geojson",
        area_vasta.settings.provinces,
        32632,
    )
    result = roads.ingest(area_vasta.engine, synthetic_roads.build(area_vasta.engine), 32632)
    return area_vasta, result


def test_synthetic_network_is_connected_labelled_and_stable(synthetic):
    store, result = synthetic
    edges = _edges(store)
    assert all(e.synthetic for e in edges)
    ids = sorted({e.source for e in edges} | {e.target for e in edges})
    index = {n: i for i, n in enumerate(ids)}
    graph = coo_matrix(
        (np.ones(len(edges)), ([index[e.source] for e in edges], [index[e.target] for e in edges])),
        shape=(len(ids), len(ids)),
    )
    assert connected_components(graph, directed=False)[0] == 1
    with store.engine.connect() as conn:
        run = conn.execute(text("SELECT synthetic, details FROM meta.ingest_run WHERE id = :i"), {"i": result.run_id})
        flagged, details = run.one()
        settlements = conn.execute(text("SELECT count(*) FROM ref.settlement")).scalar()
        outside = conn.execute(
            text(
                "SELECT count(*) FROM net.edge e JOIN net.node n ON n.id = e.source "
                "WHERE e.highway = 'residential' AND NOT EXISTS ("
                "SELECT 1 FROM ref.comune c WHERE ST_Covers(c.geom, e.geom))"
            )
        ).scalar()
    assert flagged and details["synthetic"] is True
    assert {"motorway", "primary", "secondary", "tertiary", "residential"} <= set(details["km_by_highway"])
    assert len(ids) > settlements  # streets around every settlement besides the links between them
    assert outside == 0  # local streets stay inside their municipality
    again = roads.ingest(store.engine, synthetic_roads.build(store.engine), 32632)
    assert again.status == "unchanged"


def test_synthetic_network_needs_settlements(store):
    with pytest.raises(IngestError, match="needs municipalities and settlements"):
        synthetic_roads.build(store.engine)
