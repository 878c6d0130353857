"""Cost model and routing on the stored road graph: DOMAIN §6 items 8–12, and agreement with networkx."""

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from geo.analysis.costs import Scenario, edge_costs, npv, unit_costs
from geo.analysis.routing import RoadNetwork

METHODS = ("trench", "minitrench", "duct_reuse", "aerial")


@given(
    st.floats(min_value=0, max_value=50_000),
    st.floats(min_value=0, max_value=50_000),
    st.sampled_from(["primary", "residential", "service", "footway", "unknown"]),
)
def test_costs_are_non_negative_and_monotone(length_a, length_b, highway):
    costs = unit_costs()
    short, long = sorted([length_a, length_b])
    for method in METHODS:
        scenario = Scenario(method=method)
        a, b = edge_costs(np.array([short, long]), np.array([highway, highway]), scenario, costs)
        assert 0 <= a <= b
    per_method = [
        edge_costs(np.array([long]), np.array([highway]), Scenario(method=m), costs)[0]
        for m in ("duct_reuse", "minitrench", "trench")
    ]
    assert per_method == sorted(per_method)


def test_excluded_classes_cost_infinity_unless_allowed():
    costs = unit_costs()
    lengths, classes = np.array([100.0, 100.0]), np.array(["motorway", "trunk"])
    assert np.isinf(edge_costs(lengths, classes, Scenario(), costs)).all()
    assert np.isfinite(edge_costs(lengths, classes, Scenario(exclude_excluded_classes=False), costs)).all()


def test_npv_adds_discounted_opex():
    costs = unit_costs()
    value = npv(1000.0, Scenario(discount_rate=0.05, horizon_years=10), costs)
    annuity = sum(1 / 1.05**t for t in range(1, 11))
    assert value == pytest.approx(1000 * (1 + 0.10 * annuity))
    assert npv(0.0, Scenario(), costs) == 0.0


@pytest.fixture(scope="module")
def network(layers):
    store, _ = layers
    road_network = RoadNetwork.load(store.engine)
    with store.engine.connect() as conn:
        capitals = (
            conn.execute(
                text(
                    "SELECT m.id FROM ref.main_settlement m JOIN ref.comune_population p USING (pro_com_t) "
                    "JOIN ref.comune c USING (pro_com_t) ORDER BY p.total DESC LIMIT 4"
                )
            )
            .scalars()
            .all()
        )
        mains = conn.execute(text("SELECT id FROM ref.main_settlement ORDER BY id")).scalars().all()
    index = {int(n): i for i, n in enumerate(road_network.node_ids)}
    return road_network, np.array([index[c] for c in capitals]), np.array([index[m] for m in mains])


def _graph(road_network, scenario=None):
    costs = edge_costs(road_network.length, road_network.highway, scenario or Scenario(), unit_costs())
    return road_network.graph(costs)


def test_multi_source_routes_agree_with_networkx(network):
    road_network, sources, mains = network
    graph = _graph(road_network)
    targets = mains[::40]
    routes = graph.routes(sources, targets)
    reference = nx.Graph()
    for a, b, cost in graph.pairs[["a", "b", "cost"]].itertuples(index=False):
        reference.add_edge(int(a), int(b), weight=float(cost))
    expected = nx.multi_source_dijkstra_path_length(reference, {int(s) for s in sources}, weight="weight")
    for target, route in zip(targets, routes, strict=True):
        assert route is not None
        assert route.cost == pytest.approx(expected[int(target)], rel=1e-9)
        assert route.source_node in set(sources.tolist())


def test_no_route_uses_an_excluded_class(network):
    road_network, sources, mains = network
    graph = _graph(road_network)
    used = {edge for route in graph.routes(sources, mains) if route for edge in route.edges}
    assert not {road_network.highway[e] for e in used} & {"motorway", "motorway_link", "trunk", "trunk_link"}
    # from one capital to the others, the straight synthetic motorway is the cheapest way once it is allowed
    allowed = _graph(road_network, Scenario(exclude_excluded_classes=False))
    between_capitals = allowed.routes(sources[:1], sources[1:])
    assert any(road_network.highway[e] == "motorway" for r in between_capitals if r for e in r.edges)
    assert not any(
        road_network.highway[e] == "motorway" for r in graph.routes(sources[:1], sources[1:]) if r for e in r.edges
    )


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_shared_plan_bounds_and_shape(network, data):
    road_network, sources, mains = network
    graph = _graph(road_network)
    chosen = data.draw(st.lists(st.sampled_from(mains.tolist()), min_size=2, max_size=25, unique=True))
    targets = np.array([t for t in chosen if t not in set(sources.tolist())])
    if len(targets) == 0:
        return
    routes = [r for r in graph.routes(sources, targets) if r is not None]
    tree = graph.steiner(sources, targets)
    tree_cost = float(graph.costs[sorted(tree)].sum()) if tree else 0.0
    standalone = [r.cost for r in routes]
    assert tree_cost <= sum(standalone) * (1 + 1e-9)
    assert tree_cost >= max(standalone) * (1 - 1e-9)
    assert all(math.isfinite(graph.costs[e]) for e in tree)
    nodes, edges, components = forest_components(road_network, tree)
    assert edges == nodes - components  # acyclic
    touched = {int(road_network.u[e]) for e in tree} | {int(road_network.v[e]) for e in tree}
    assert {int(t) for t in targets} <= touched | set(sources.tolist())
    # every component of the plan reaches a source
    reach = nx.Graph()
    reach.add_edges_from((int(road_network.u[e]), int(road_network.v[e])) for e in tree)
    for component in nx.connected_components(reach):
        assert component & set(sources.tolist())
    # each target's share of the plan: never negative, and all shares together pay for the whole plan exactly
    weights = np.array(data.draw(st.lists(st.integers(1, 500), min_size=len(targets), max_size=len(targets))), float)
    shared_tree, (shares,) = graph.shared_costs(sources, targets, weights, [graph.costs])
    assert shared_tree == tree
    assert (shares >= 0).all() and shares.sum() == pytest.approx(tree_cost, rel=1e-9, abs=1e-6)


def test_walking_many_paths_at_once_equals_one_by_one(network):
    road_network, sources, mains = network
    graph = _graph(road_network)
    _, predecessors, _ = graph.from_sources(sources)
    together = graph.walk_many(predecessors, mains)
    assert together == [graph.walk(predecessors, int(m)) for m in mains]
    assert sum(map(len, together)) > len(mains)  # real paths, not empty ones


def forest_components(network: RoadNetwork, edges: set[int]) -> tuple[int, int, int]:
    """Nodes, edges and connected components of a set of edges (a forest has edges = nodes − components)."""
    graph = nx.MultiGraph()
    graph.add_edges_from((int(network.u[e]), int(network.v[e])) for e in edges)
    return graph.number_of_nodes(), graph.number_of_edges(), nx.number_connected_components(graph)
