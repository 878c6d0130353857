"""Routing on the stored road graph with scipy.sparse.csgraph: multi-source shortest paths (every fibre source at
once) and a shared-trench plan by Mehlhorn's Steiner-tree approximation (within 2 − 2/ℓ of optimal)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree
from scipy.spatial import cKDTree
from sqlalchemy import Engine, text

NO_PREDECESSOR = -9999


@dataclass
class RoadNetwork:
    """Nodes (index → id, coordinates) and undirected edges (node indices, length, class, geometry id)."""

    node_ids: np.ndarray
    xy: np.ndarray
    edge_ids: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    highway: np.ndarray

    @classmethod
    def load(cls, engine: Engine) -> RoadNetwork:
        with engine.connect() as conn:
            nodes = pd.read_sql(text("SELECT id, ST_X(geom) AS x, ST_Y(geom) AS y FROM net.node ORDER BY id"), conn)
            edges = pd.read_sql(text("SELECT id, source, target, length_m, highway FROM net.edge ORDER BY id"), conn)
        if edges.empty:
            raise ValueError("no road network loaded: run 'areavasta ingest roads' or 'areavasta synth roads'")
        index = pd.Series(np.arange(len(nodes)), index=nodes["id"].to_numpy())
        return cls(
            node_ids=nodes["id"].to_numpy(),
            xy=nodes[["x", "y"]].to_numpy(),
            edge_ids=edges["id"].to_numpy(),
            u=index.loc[edges["source"]].to_numpy(),
            v=index.loc[edges["target"]].to_numpy(),
            length=edges["length_m"].to_numpy(dtype=float),
            highway=edges["highway"].to_numpy(dtype=object),
        )

    def graph(self, costs: np.ndarray) -> Graph:
        return Graph(self, costs)


@dataclass
class Route:
    """A path to a target: the edge positions it uses, from the source outwards, and its cost and length."""

    edges: list[int]
    cost: float
    length_m: float
    source_node: int


class Graph:
    """The network with one cost per edge (inf = unusable); parallel edges keep their cheapest member."""

    def __init__(self, network: RoadNetwork, costs: np.ndarray) -> None:
        self.network = network
        self.costs = costs
        usable = np.isfinite(costs) & (costs >= 0)
        frame = (
            pd.DataFrame(
                {
                    "a": np.minimum(network.u, network.v)[usable],
                    "b": np.maximum(network.u, network.v)[usable],
                    "cost": costs[usable],
                    "edge": np.flatnonzero(usable),
                }
            )
            .sort_values(["a", "b", "cost", "edge"])
            .drop_duplicates(["a", "b"])
        )
        self.pairs = frame
        n = len(network.node_ids)
        # csgraph reads an explicit zero as "no edge": keep zero-cost edges with a negligible positive weight
        weights = np.maximum(frame["cost"].to_numpy(), 1e-9)
        self.matrix: csr_matrix = coo_matrix((weights, (frame["a"], frame["b"])), shape=(n, n)).tocsr()
        self._edge_of = dict(zip(zip(frame["a"], frame["b"], strict=True), frame["edge"], strict=True))
        self._usable_nodes = np.unique(np.concatenate([frame["a"].to_numpy(), frame["b"].to_numpy()]))
        self._tree = cKDTree(network.xy[self._usable_nodes])

    def nearest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nearest usable node of each point, and the straight distance to it (metres)."""
        distance, position = self._tree.query(points)
        return self._usable_nodes[position], distance

    def edge(self, a: int, b: int) -> int:
        return self._edge_of[(min(a, b), max(a, b))]

    def from_sources(self, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distances, predecessors and nearest source of every node, from all ``sources`` at once."""
        return dijkstra(
            self.matrix, directed=False, indices=np.unique(sources), min_only=True, return_predecessors=True
        )

    def walk(self, predecessors: np.ndarray, node: int) -> list[int]:
        """Edge positions from the node back to where its predecessors start."""
        edges = []
        while predecessors[node] != NO_PREDECESSOR:
            parent = int(predecessors[node])
            edges.append(self.edge(parent, node))
            node = parent
        return edges[::-1]

    def routes(self, sources: np.ndarray, targets: np.ndarray) -> list[Route | None]:
        """The standalone cheapest route of every target from the nearest source (None where unreachable)."""
        distance, predecessors, origin = self.from_sources(sources)
        out: list[Route | None] = []
        for target in targets:
            if not np.isfinite(distance[target]):
                out.append(None)
                continue
            edges = self.walk(predecessors, int(target))
            out.append(
                Route(
                    edges, float(self.costs[edges].sum()), float(self.network.length[edges].sum()), int(origin[target])
                )
            )
        return out

    def steiner(self, sources: np.ndarray, targets: np.ndarray) -> set[int]:
        """Edge positions of a tree joining every reachable target to the sources (treated as one terminal)."""
        terminal_nodes = np.unique(np.concatenate([sources, targets]))
        label = {int(n): 0 for n in sources}
        for i, t in enumerate(np.unique(targets), start=1):
            label.setdefault(int(t), i)
        distance, predecessors, origin = self.from_sources(terminal_nodes)
        terminal_of = np.full(len(distance), -1)
        reached = origin >= 0
        terminal_of[reached] = [label[int(o)] for o in origin[reached]]
        a, b, cost = self.pairs["a"].to_numpy(), self.pairs["b"].to_numpy(), self.pairs["cost"].to_numpy()
        ta, tb = terminal_of[a], terminal_of[b]
        crossing = (ta >= 0) & (tb >= 0) & (ta != tb)
        bridges = (
            pd.DataFrame(
                {
                    "ta": np.minimum(ta, tb)[crossing],
                    "tb": np.maximum(ta, tb)[crossing],
                    "length": (distance[a] + cost + distance[b])[crossing],
                    "a": a[crossing],
                    "b": b[crossing],
                }
            )
            .sort_values(["ta", "tb", "length"])
            .drop_duplicates(["ta", "tb"])
        )
        k = max(label.values()) + 1
        closure = coo_matrix((np.maximum(bridges["length"], 1e-9), (bridges["ta"], bridges["tb"])), shape=(k, k))
        spanning = minimum_spanning_tree(closure).tocoo()
        chosen = bridges.set_index(["ta", "tb"])
        edges: set[int] = set()
        for t1, t2 in zip(spanning.row, spanning.col, strict=True):
            bridge = chosen.loc[(min(t1, t2), max(t1, t2))]
            edges.add(self.edge(int(bridge["a"]), int(bridge["b"])))
            edges.update(self.walk(predecessors, int(bridge["a"])))
            edges.update(self.walk(predecessors, int(bridge["b"])))
        return self._prune(edges, set(int(t) for t in terminal_nodes))

    def _prune(self, edges: set[int], terminals: set[int]) -> set[int]:
        """A minimum spanning forest of the chosen edges, without branches that lead to no terminal."""
        if not edges:
            return edges
        chosen = np.array(sorted(edges))
        u, v = self.network.u[chosen], self.network.v[chosen]
        n = len(self.network.node_ids)
        forest = minimum_spanning_tree(coo_matrix((np.maximum(self.costs[chosen], 1e-9), (u, v)), shape=(n, n))).tocoo()
        kept = {self.edge(int(x), int(y)) for x, y in zip(forest.row, forest.col, strict=True)}
        touching: dict[int, set[int]] = {}
        for edge in kept:
            for node in (int(self.network.u[edge]), int(self.network.v[edge])):
                touching.setdefault(node, set()).add(edge)
        leaves = [node for node, around in touching.items() if len(around) == 1 and node not in terminals]
        while leaves:
            leaf = leaves.pop()
            if len(touching[leaf]) != 1:
                continue
            edge = touching[leaf].pop()
            kept.discard(edge)
            other = int(self.network.v[edge]) if int(self.network.u[edge]) == leaf else int(self.network.u[edge])
            touching[other].discard(edge)
            if len(touching[other]) == 1 and other not in terminals:
                leaves.append(other)
        return kept


def forest_components(network: RoadNetwork, edges: set[int]) -> tuple[int, int, int]:
    """Nodes, edges and connected components of a set of edges (a forest has edges = nodes − components)."""
    chosen = np.array(sorted(edges))
    nodes, inverse = np.unique(np.concatenate([network.u[chosen], network.v[chosen]]), return_inverse=True)
    half = len(chosen)
    matrix = coo_matrix((np.ones(half), (inverse[:half], inverse[half:])), shape=(len(nodes), len(nodes)))
    return len(nodes), half, connected_components(matrix, directed=False)[0]
