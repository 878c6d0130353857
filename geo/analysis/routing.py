"""Routing on the stored road graph with scipy.sparse.csgraph: multi-source shortest paths (every fibre source at
once) and a shared-trench plan by Mehlhorn's Steiner-tree approximation (within 2 − 2/ℓ of optimal)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
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
        """The stored road network (``net.node``, ``net.edge``); ValueError when none is loaded."""
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
        """The routing graph of this network with ``costs`` as edge weights."""
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
        n = len(network.node_ids)
        edge = np.flatnonzero(usable)
        cost = costs[usable]
        # each node pair as one int64 key (smaller node first): sorting by key, cost and edge keeps the cheapest
        # member of parallel edges first, and lets edges be found by binary search, whole paths at once
        keys = np.minimum(network.u, network.v)[usable].astype(np.int64) * n + np.maximum(network.u, network.v)[usable]
        order = np.lexsort((edge, cost, keys))
        keys, cost, edge = keys[order], cost[order], edge[order]
        first = np.concatenate([[True], keys[1:] != keys[:-1]])
        keys, cost, edge = keys[first], cost[first], edge[first]
        a, b = keys // n, keys % n
        self.pairs = pd.DataFrame({"a": a, "b": b, "cost": cost, "edge": edge})
        # csgraph reads an explicit zero as "no edge": keep zero-cost edges with a negligible positive weight
        self.matrix: csr_matrix = coo_matrix((np.maximum(cost, 1e-9), (a, b)), shape=(n, n)).tocsr()
        self._n = n
        self._keys = keys
        self._edges = edge
        self._usable_nodes = np.flatnonzero(np.bincount(np.concatenate([a, b]), minlength=n))

    @cached_property
    def _tree(self) -> cKDTree:
        """Spatial index of the usable nodes, built on the first :meth:`nearest` (routing alone never needs it)."""
        return cKDTree(self.network.xy[self._usable_nodes])

    def nearest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nearest usable node of each point, and the straight distance to it (metres)."""
        distance, position = self._tree.query(points)
        return self._usable_nodes[position], distance

    def edges_between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Edge positions joining each node pair (the pair's cheapest edge); the pairs must be adjacent."""
        keys = np.minimum(a, b).astype(np.int64) * self._n + np.maximum(a, b)
        return self._edges[np.searchsorted(self._keys, keys)]

    def edge(self, a: int, b: int) -> int:
        """The position of the edge joining adjacent nodes ``a`` and ``b``."""
        return int(self.edges_between(np.array([a]), np.array([b]))[0])

    def from_sources(self, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distances, predecessors and nearest source of every node, from all ``sources`` at once."""
        return dijkstra(
            self.matrix, directed=False, indices=np.unique(sources), min_only=True, return_predecessors=True
        )

    def walk(self, predecessors: np.ndarray, node: int) -> list[int]:
        """Edge positions from the node back to where its predecessors start."""
        path = [node]
        while predecessors[node] != NO_PREDECESSOR:
            node = int(predecessors[node])
            path.append(node)
        if len(path) == 1:
            return []
        nodes = np.array(path[::-1])
        return self.edges_between(nodes[:-1], nodes[1:]).tolist()

    def walk_many(self, predecessors: np.ndarray, nodes: np.ndarray) -> list[list[int]]:
        """:meth:`walk` for many nodes at once: all paths are followed one step per array operation."""
        current = np.asarray(nodes, dtype=np.int64)
        levels = [current]
        while (current >= 0).any():
            current = np.where(current >= 0, predecessors[np.maximum(current, 0)], NO_PREDECESSOR)
            current = np.where(current == NO_PREDECESSOR, -1, current)
            levels.append(current)
        steps = np.vstack(levels)  # row i: the node i steps back from each start (-1 past its source)
        child, parent = steps[:-1], steps[1:]
        valid = parent >= 0
        edges = np.full(child.shape, -1, dtype=np.int64)
        edges[valid] = self.edges_between(parent[valid], child[valid])
        return [column[column >= 0][::-1].tolist() for column in edges.T]

    def routes(self, sources: np.ndarray, targets: np.ndarray) -> list[Route | None]:
        """The standalone cheapest route of every target from the nearest source (None where unreachable)."""
        distance, predecessors, origin = self.from_sources(sources)
        targets = np.asarray(targets, dtype=np.int64)
        reachable = np.isfinite(distance[targets])
        paths = iter(self.walk_many(predecessors, targets[reachable]))
        out: list[Route | None] = []
        for target, ok in zip(targets, reachable, strict=True):
            if not ok:
                out.append(None)
                continue
            edges = next(paths)
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

    def shared_costs(
        self, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray, costs: list[np.ndarray]
    ) -> tuple[set[int], list[np.ndarray]]:
        """A shared plan for every target and each target's share of it, for each array of edge ``costs``.

        The plan is the Steiner tree of :meth:`steiner`, rooted at the sources. Each tree edge is paid by the targets
        beyond it in proportion to their ``weights`` (civic numbers passed), so the shares add up to the tree's cost;
        unreachable targets get NaN.
        """
        tree = self.steiner(sources, targets)
        shares = [np.full(len(targets), np.nan) for _ in costs]
        if not tree:
            reached = np.isin(targets, sources)
            for share in shares:
                share[reached] = 0.0
            return tree, shares
        edges = np.array(sorted(tree))
        n = len(self.network.node_ids)
        u, v = self.network.u[edges], self.network.v[edges]
        matrix = coo_matrix((np.maximum(self.costs[edges], 1e-9), (u, v)), shape=(n, n)).tocsr()
        roots = np.unique(sources[np.isin(sources, np.concatenate([u, v]))])
        distance, predecessors = dijkstra(
            matrix, directed=False, indices=roots, min_only=True, return_predecessors=True
        )[:2]
        on_tree = np.flatnonzero(np.isfinite(distance))
        order = on_tree[np.argsort(distance[on_tree], kind="stable")]
        load = np.zeros(n)
        np.add.at(load, targets, weights)
        for node in order[::-1]:  # from the leaves inwards: each node carries the weight beyond it
            parent = predecessors[node]
            if parent != NO_PREDECESSOR:
                load[parent] += load[node]
        children = order[predecessors[order] != NO_PREDECESSOR]
        edge_of = self.edges_between(predecessors[children], children)
        for cost, share in zip(costs, shares, strict=True):
            per_unit = np.zeros(n)
            step = cost[edge_of] / np.maximum(load[children], 1e-12)
            for node, value in zip(children, step, strict=True):  # root outwards: cost per unit of weight so far
                per_unit[node] = per_unit[predecessors[node]] + value
            reached = np.isfinite(distance[targets])
            share[reached] = weights[reached] * per_unit[targets[reached]]
            share[~reached & np.isin(targets, sources)] = 0.0  # a target on a source that no tree edge touches
        return tree, shares

    def _prune(self, edges: set[int], terminals: set[int]) -> set[int]:
        """A minimum spanning forest of the chosen edges, without branches that lead to no terminal."""
        if not edges:
            return edges
        chosen = np.array(sorted(edges))
        u, v = self.network.u[chosen], self.network.v[chosen]
        n = len(self.network.node_ids)
        forest = minimum_spanning_tree(coo_matrix((np.maximum(self.costs[chosen], 1e-9), (u, v)), shape=(n, n))).tocoo()
        kept = set(self.edges_between(forest.row, forest.col).tolist())
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
