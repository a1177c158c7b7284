"""Embedding the RBM's complete bipartite graph K(n_visible, n_hidden) on a QPU, cached on disk.

Copies: minorminer's busclique biclique embedding (short, uniform chains) on the smallest
sublattice tile that holds the RBM, translated across the chip for as many disjoint copies as
asked (minorminer.utils.parallel_embeddings); a model too large for any tile gets one busclique
embedding on the whole chip. Graphs busclique cannot handle fall back to
minorminer.find_embedding. Embeddings are found once per (solver, working graph, shape, copies)
and kept as JSON in the user's cache directory, so later runs start at once.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from annealrbm.fileio import write_json

from annealrbm.backends.qpu_connection import QPUConfigurationError

Embedding = dict[int, tuple[int, ...]]
FORMAT = "annealrbm.embeddings"
FORMAT_VERSION = 1


def cache_dir() -> Path:
    """ANNEALRBM_CACHE_DIR, else $XDG_CACHE_HOME/annealrbm, else ~/.cache/annealrbm."""
    if os.environ.get("ANNEALRBM_CACHE_DIR"):
        return Path(os.environ["ANNEALRBM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "annealrbm"


def graph_fingerprint(target: nx.Graph) -> str:
    """A short hash of the working graph (qubits and couplers): a changed chip gets new embeddings."""
    nodes = sorted(target.nodes)
    edges = sorted(tuple(sorted(edge)) for edge in target.edges)
    return hashlib.sha256(json.dumps([nodes, edges]).encode()).hexdigest()[:16]


@dataclass
class EmbeddingSet:
    """Disjoint embeddings of one RBM shape, and where they came from."""

    embeddings: list[Embedding]
    cache_hit: bool
    path: Path

    @property
    def num_qubits(self) -> int:
        return sum(len(chain) for embedding in self.embeddings for chain in embedding.values())

    @property
    def max_chain_length(self) -> int:
        return max(len(chain) for embedding in self.embeddings for chain in embedding.values())


def source_graph(n_visible: int, n_hidden: int) -> nx.Graph:
    """K(n_visible, n_hidden) labelled like the RBM's BQM: visible 0.., hidden n_visible.."""
    return nx.complete_bipartite_graph(n_visible, n_hidden)


def _busgraph(target: nx.Graph):
    """minorminer's busclique cache for a Chimera/Pegasus/Zephyr graph, or None for other graphs."""
    from minorminer.busclique import busgraph_cache

    if target.graph.get("family") not in ("chimera", "pegasus", "zephyr"):
        return None
    return busgraph_cache(target)


def largest_balanced_rbm(target: nx.Graph) -> int:
    """n such that an n x n RBM fits (as a busclique biclique) on `target`; 0 if unknown."""
    cache = _busgraph(target)
    if cache is None:
        return 0
    return len(cache.largest_balanced_biclique()) // 2


def largest_hidden_for(target: nx.Graph, n_visible: int) -> int:
    """The most hidden units an RBM with `n_visible` visible units can have on `target`."""
    cache = _busgraph(target)
    if cache is None:
        return 0
    low, high = 0, target.number_of_nodes()
    while low < high:
        middle = (low + high + 1) // 2
        if cache.find_biclique_embedding(n_visible, middle):
            low = middle
        else:
            high = middle - 1
    return low


def _does_not_fit(target: nx.Graph, n_visible: int, n_hidden: int, solver: str) -> QPUConfigurationError:
    balanced = largest_balanced_rbm(target)
    with_visible = largest_hidden_for(target, n_visible) if balanced else 0
    detail = (
        f"the largest that fits is {balanced}x{balanced}"
        + (f", or {n_visible}x{with_visible} with {n_visible} visible units" if with_visible else
           f"; with {n_visible} visible units none fit")
        if balanced
        else "no biclique embedding was found"
    )
    return QPUConfigurationError(
        f"an RBM of {n_visible}x{n_hidden} does not fit on {solver or 'this QPU'}: {detail}; "
        "use fewer units or a classical backend (sa, pcd)"
    )


def _one_copy(target: nx.Graph, n_visible: int, n_hidden: int, seed: int) -> Embedding:
    cache = _busgraph(target)
    if cache is not None:
        found = cache.find_biclique_embedding(range(n_visible), range(n_visible, n_visible + n_hidden))
    else:
        import minorminer

        found = minorminer.find_embedding(
            source_graph(n_visible, n_hidden).edges, target.edges, random_seed=seed, timeout=60
        )
    return {int(label): tuple(int(q) for q in chain) for label, chain in found.items()}


def _tile(target: nx.Graph, size: int) -> nx.Graph:
    import dwave.graphs as graphs

    family = target.graph["family"]
    if family == "pegasus":
        return graphs.pegasus_graph(size)
    if family == "zephyr":
        return graphs.zephyr_graph(size, target.graph["tile"])
    return graphs.chimera_graph(size, size, target.graph["tile"])


def _many_copies(target: nx.Graph, source: nx.Graph, tile_embedding_of, num_copies: int | None,
                 seed: int) -> list[Embedding]:
    """Disjoint copies of `source`: the embedding `tile_embedding_of(tile)` finds on the smallest
    sublattice tile that holds it, translated over the lattice; else minorminer's greedy search
    on the whole chip (None: as many as fit)."""
    from minorminer.utils.parallel_embeddings import find_multiple_embeddings, find_sublattice_embeddings

    rows = target.graph.get("rows", 0)
    found: list = []
    if target.graph.get("family") in ("chimera", "pegasus", "zephyr"):
        for size in range(2, rows + 1):
            tile = _tile(target, size)
            tile_embedding = tile_embedding_of(tile)
            if not tile_embedding:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = find_sublattice_embeddings(
                    source, target, tile=tile, tile_embedding=tile_embedding, one_to_iterable=True,
                    max_num_emb=num_copies, use_filter=False, seed=seed,
                )
            break
    if not found:
        import minorminer

        found = find_multiple_embeddings(
            source, target, max_num_emb=num_copies, one_to_iterable=True, seed=seed, timeout=120,
            embedder=minorminer.find_embedding, embedder_kwargs={"timeout": 20, "random_seed": seed},
        )
    return [{int(label): tuple(int(q) for q in chain) for label, chain in e.items()} for e in found]


def _biclique_copies(target: nx.Graph, n_visible: int, n_hidden: int, num_copies: int | None, seed: int) -> list[Embedding]:
    from minorminer.busclique import busgraph_cache

    return _many_copies(target, source_graph(n_visible, n_hidden),
                        lambda tile: busgraph_cache(tile).find_biclique_embedding(n_visible, n_hidden), num_copies, seed)


def _valid(embeddings: list[Embedding], target: nx.Graph, n_visible: int, n_hidden: int) -> bool:
    from dwave.embedding import is_valid_embedding

    source = source_graph(n_visible, n_hidden)
    used: set[int] = set()
    for embedding in embeddings:
        qubits = {q for chain in embedding.values() for q in chain}
        if used & qubits or not is_valid_embedding(embedding, source, target):
            return False
        used |= qubits
    return bool(embeddings)


def find_embeddings(
    target: nx.Graph,
    n_visible: int,
    n_hidden: int,
    num_copies: int | None = 1,
    solver: str = "",
    directory: Path | None = None,
    seed: int = 0,
) -> EmbeddingSet:
    """Disjoint embeddings of K(n_visible, n_hidden) on `target`, from the disk cache when present.

    num_copies: how many copies to place (None: as many as the chip holds). Raises
    QPUConfigurationError when not even one fits (stating the largest that does) or when fewer
    copies fit than were asked for.
    """
    copies = "max" if num_copies is None else str(int(num_copies))
    key = f"{solver or 'qpu'}-{graph_fingerprint(target)}-K{n_visible}x{n_hidden}-copies{copies}"
    path = (directory or cache_dir()) / "embeddings" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', key)}.json"
    if path.exists():
        try:
            stored = json.loads(path.read_text())
            embeddings = [{int(k): tuple(v) for k, v in e.items()} for e in stored["embeddings"]]
            if stored.get("format") == FORMAT and _valid(embeddings, target, n_visible, n_hidden):
                return EmbeddingSet(embeddings, True, path)
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # unreadable cache entry: find the embeddings again and overwrite it
    embeddings = _biclique_copies(target, n_visible, n_hidden, num_copies, seed)
    if not embeddings:  # too big for any tile: one copy on the whole chip
        embeddings = [e for e in [_one_copy(target, n_visible, n_hidden, seed)] if e]
    if not embeddings:
        raise _does_not_fit(target, n_visible, n_hidden, solver)
    if num_copies is not None and len(embeddings) < num_copies:
        raise QPUConfigurationError(
            f"only {len(embeddings)} disjoint copies of a {n_visible}x{n_hidden} RBM fit on "
            f"{solver or 'this QPU'}, {num_copies} were asked for: ask for at most {len(embeddings)}"
        )
    write_json(path, {
        "format": FORMAT, "format_version": FORMAT_VERSION, "solver": solver, "shape": [n_visible, n_hidden],
        "embeddings": [{str(k): list(v) for k, v in e.items()} for e in embeddings],
    })
    return EmbeddingSet(embeddings, False, path)


def find_graph_embedding(
    target: nx.Graph, n_units: int, edges, qubits: list | None = None, solver: str = "",
    directory: Path | None = None, seed: int = 0, num_copies: int | None = 1,
) -> EmbeddingSet:
    """Disjoint embeddings of a Boltzmann machine's graph (units 0..n_units-1 coupled along
    `edges`) on `target`, from the disk cache when present.

    A hardware-native model (`qubits` given, every edge a coupler of `target`) maps each unit
    to its own qubit: one copy. Otherwise `num_copies` copies (None: as many as fit), from a
    tile embedding translated over the lattice as for RBMs: busclique's clique embedding
    (short, uniform chains) for a fully connected model, minorminer.find_embedding's for any
    other graph. Raises QPUConfigurationError when none fits, or fewer than asked for.
    """
    pairs = [(int(u), int(v)) for u, v in edges]
    if qubits is not None and all(target.has_edge(qubits[u], qubits[v]) for u, v in pairs):
        return EmbeddingSet([{unit: (qubit,) for unit, qubit in enumerate(qubits)}], True, Path())
    digest = hashlib.sha256(json.dumps([n_units, pairs]).encode()).hexdigest()[:16]
    copies = "max" if num_copies is None else str(int(num_copies))
    key = f"{solver or 'qpu'}-{graph_fingerprint(target)}-graph{n_units}-{digest}-copies{copies}"
    path = (directory or cache_dir()) / "embeddings" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', key)}.json"
    if path.exists():
        try:
            stored = json.loads(path.read_text())
            embeddings = [{int(k): tuple(v) for k, v in e.items()} for e in stored["embeddings"]]
            if stored.get("format") == FORMAT and _disjoint_graph_embeddings(embeddings, target, n_units, pairs):
                return EmbeddingSet(embeddings, True, path)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            pass  # unreadable cache entry: find the embeddings again and overwrite it
    source = nx.Graph(pairs)
    source.add_nodes_from(range(n_units))
    complete = len(pairs) == n_units * (n_units - 1) // 2

    def tile_embedding_of(tile: nx.Graph):
        if complete:
            from minorminer.busclique import busgraph_cache

            return busgraph_cache(tile).find_clique_embedding(n_units)
        if tile.number_of_nodes() < n_units:
            return {}
        import minorminer

        return minorminer.find_embedding(pairs, tile.edges, random_seed=seed, timeout=10)

    embeddings = [e for e in _many_copies(target, source, tile_embedding_of, num_copies, seed)
                  if _valid_graph_embedding(e, target, n_units, pairs)]
    cache = _busgraph(target) if complete and not embeddings else None
    if cache is not None:  # a clique only the whole chip holds, around its missing qubits
        found = cache.find_clique_embedding(n_units)
        embeddings = [e for e in [{int(k): tuple(int(q) for q in v) for k, v in (found or {}).items()}]
                      if _valid_graph_embedding(e, target, n_units, pairs)]
    if not embeddings:
        raise QPUConfigurationError(
            f"no embedding of this {n_units}-unit, {len(pairs)}-edge model was found on {solver or 'this QPU'}: "
            "use fewer units, a sparser or hardware-native graph, or a classical backend (sa, pcd)")
    if num_copies is not None and len(embeddings) < num_copies:
        raise QPUConfigurationError(
            f"only {len(embeddings)} disjoint copies of this {n_units}-unit model fit on {solver or 'this QPU'}, "
            f"{num_copies} were asked for: ask for at most {len(embeddings)}")
    write_json(path, {"format": FORMAT, "format_version": FORMAT_VERSION, "solver": solver, "units": n_units,
                      "embeddings": [{str(k): list(v) for k, v in e.items()} for e in embeddings]})
    return EmbeddingSet(embeddings, False, path)


def _disjoint_graph_embeddings(embeddings: list[Embedding], target: nx.Graph, n_units: int, pairs: list) -> bool:
    used = [q for embedding in embeddings for chain in embedding.values() for q in chain]
    return (bool(embeddings) and len(used) == len(set(used))
            and all(_valid_graph_embedding(e, target, n_units, pairs) for e in embeddings))


def _valid_graph_embedding(embedding: Embedding, target: nx.Graph, n_units: int, pairs: list) -> bool:
    """Every unit has a connected chain of existing qubits, chains are disjoint, every edge has a coupler."""
    if sorted(embedding) != list(range(n_units)):
        return False
    used = [q for chain in embedding.values() for q in chain]
    if len(used) != len(set(used)) or not all(target.has_node(q) for q in used):
        return False
    if not all(nx.is_connected(target.subgraph(chain)) for chain in embedding.values()):
        return False
    return all(any(target.has_edge(a, b) for a in embedding[u] for b in embedding[v]) for u, v in pairs)
