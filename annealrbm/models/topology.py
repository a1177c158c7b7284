"""Coupling graphs of Boltzmann machines over units 0..n-1 (visible first, then hidden), and
the blocks of units that Gibbs sampling can update together.

An edge list is an int array of shape (m, 2) with u < v in every row, sorted, without
duplicates or self-loops: the one canonical form every model stores.
"""
from __future__ import annotations

from typing import Any, Iterable

import networkx as nx
import numpy as np


def canonical_edges(edges: Iterable, n_units: int) -> np.ndarray:
    """Validate `edges` (pairs of unit indices) and return them as a sorted (m, 2) int array, u < v."""
    array = np.asarray(list(edges) if not isinstance(edges, np.ndarray) else edges)
    if array.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if array.ndim != 2 or array.shape[1] != 2 or array.dtype.kind not in "iu":
        raise ValueError("edges must be pairs of integer unit indices, e.g. [(0, 5), (1, 5)]")
    array = np.sort(array.astype(np.int64), axis=1)
    if array.min() < 0 or array.max() >= n_units:
        raise ValueError(f"edges must join units 0..{n_units - 1}; got an index {array.min() if array.min() < 0 else array.max()}")
    if np.any(array[:, 0] == array[:, 1]):
        raise ValueError("edges must join two different units (no self-loops: a unit's own term is its bias)")
    unique = np.unique(array, axis=0)
    if len(unique) != len(array):
        raise ValueError("edges contain a pair twice: list every coupled pair once")
    return unique


def bipartite_edges(n_visible: int, n_hidden: int) -> np.ndarray:
    """Every visible-hidden pair (the RBM's graph)."""
    visible, hidden = np.meshgrid(np.arange(n_visible), n_visible + np.arange(n_hidden), indexing="ij")
    return np.column_stack([visible.ravel(), hidden.ravel()])


def complete_edges(units: np.ndarray) -> np.ndarray:
    """Every pair among `units`."""
    first, second = np.triu_indices(len(units), k=1)
    return np.column_stack([units[first], units[second]])


def fully_connected_edges(n_visible: int, n_hidden: int) -> np.ndarray:
    return complete_edges(np.arange(n_visible + n_hidden))


def semi_restricted_edges(n_visible: int, n_hidden: int) -> np.ndarray:
    """Visible-visible and visible-hidden pairs; hidden units do not interact."""
    return canonical_edges(np.vstack([complete_edges(np.arange(n_visible)), bipartite_edges(n_visible, n_hidden)]),
                           n_visible + n_hidden)


def layered_edges(layer_sizes: list[int]) -> np.ndarray:
    """Every pair between consecutive layers (a deep Boltzmann machine's graph)."""
    starts = np.cumsum([0, *layer_sizes])
    blocks = []
    for index in range(len(layer_sizes) - 1):
        lower, upper = np.arange(starts[index], starts[index + 1]), np.arange(starts[index + 1], starts[index + 2])
        first, second = np.meshgrid(lower, upper, indexing="ij")
        blocks.append(np.column_stack([first.ravel(), second.ravel()]))
    return np.vstack(blocks) if blocks else np.zeros((0, 2), dtype=np.int64)


def colour_blocks(edges: np.ndarray, units: np.ndarray) -> list[np.ndarray]:
    """A partition of `units` into blocks with no edge inside a block (a proper colouring of
    the graph induced on `units`, networkx's greedy largest-first): the units of a block are
    conditionally independent given the rest, so Gibbs sampling updates a block at once."""
    graph = nx.Graph()
    graph.add_nodes_from(int(u) for u in units)
    inside = np.isin(edges, units).all(axis=1)
    graph.add_edges_from(map(tuple, edges[inside].tolist()))
    colours = nx.greedy_color(graph, strategy="largest_first")
    by_colour: dict[int, list[int]] = {}
    for unit, colour in colours.items():
        by_colour.setdefault(colour, []).append(unit)
    return [np.array(sorted(members), dtype=np.int64) for _, members in sorted(by_colour.items())]


def working_graph(solver_or_graph: Any) -> nx.Graph:
    """The qubit graph of a D-Wave solver (a dimod.Structured sampler such as DWaveSampler or
    MockDWaveSampler) or a networkx graph (e.g. dwave.graphs.zephyr_graph(4))."""
    if isinstance(solver_or_graph, nx.Graph):
        return solver_or_graph
    nodelist, edgelist = getattr(solver_or_graph, "nodelist", None), getattr(solver_or_graph, "edgelist", None)
    if nodelist is None or edgelist is None:
        raise ValueError("hardware_native needs a structured dimod sampler (e.g. DWaveSampler, MockDWaveSampler) "
                         f"or a networkx graph of qubits, got {type(solver_or_graph).__name__}")
    graph = nx.Graph()
    graph.add_nodes_from(nodelist)
    graph.add_edges_from(edgelist)
    return graph


def hardware_native_layout(graph: nx.Graph, n_visible: int, n_hidden: int) -> tuple[list, np.ndarray]:
    """Choose n_visible + n_hidden connected qubits (a breadth-first ball around the best-connected
    qubit) and assign them to units: (qubits in unit order, edges over unit indices).

    Units are assigned so that visible and hidden units alternate along the breadth-first order,
    which spreads the hidden units among the visible ones; every coupler between chosen qubits
    becomes an edge of the model, so the model embeds one qubit per unit with no chains.
    """
    n_units = n_visible + n_hidden
    if graph.number_of_nodes() < n_units:
        raise ValueError(f"the working graph has {graph.number_of_nodes()} qubits; the model needs {n_units}")
    start = max(graph.nodes, key=graph.degree.__getitem__)  # the first best-connected qubit
    order = [start, *(v for _, v in nx.bfs_edges(graph, start))][:n_units]
    if len(order) < n_units:
        raise ValueError(f"the working graph's largest connected part around qubit {start} has fewer than {n_units} qubits")
    # interleave: a hidden unit every (n_units / n_hidden) positions of the breadth-first order
    hidden_positions = set(np.linspace(1, n_units - 1, n_hidden).round().astype(int).tolist()) if n_hidden else set()
    while len(hidden_positions) < n_hidden:  # rounding collisions: take the next free slots
        hidden_positions.add(next(p for p in range(n_units) if p not in hidden_positions))
    visible_qubits = [q for position, q in enumerate(order) if position not in hidden_positions]
    hidden_qubits = [q for position, q in enumerate(order) if position in hidden_positions]
    qubits = visible_qubits + hidden_qubits
    index = {qubit: unit for unit, qubit in enumerate(qubits)}
    edges = [(index[u], index[v]) for u, v in graph.subgraph(qubits).edges]
    return qubits, canonical_edges(edges, n_units)
