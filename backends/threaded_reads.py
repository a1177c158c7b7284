"""Split a sampler's reads over threads: both cores for samplers that release the GIL.

dwave-samplers' SimulatedAnnealingSampler runs one call on one core but releases the GIL
while it anneals, so calls in separate threads run in parallel (Ocean's intended way to use
more cores, dwave-neal #51). `ThreadedReadsComposite` makes one call of `num_reads` into
`num_threads` calls of about `num_reads / num_threads` reads, each with its own seed derived
from the caller's, and concatenates their samples in order. The result depends on the seed
and `num_threads` only, never on the machine's core count or thread timing.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dimod
import numpy as np

from annealrbm.validation import check_positive_int


def chunk_seeds(seed: int | None, num_chunks: int) -> list[int | None]:
    """Independent seeds below 2**31 for the chunks of one seeded call (None stays unseeded).

    dwave-samplers' SimulatedAnnealingSampler rejects seeds of 2**31 and above, whatever its
    message says about 2**32.
    """
    if seed is None:
        return [None] * num_chunks
    children = np.random.SeedSequence(seed).spawn(num_chunks)
    return [int(child.generate_state(1, np.uint32)[0] >> 1) for child in children]


class ThreadedReadsComposite(dimod.ComposedSampler):
    """Run a child sampler's reads as `num_threads` concurrent calls and concatenate them.

    `initial_states` with one state per read are split along with the reads. A call without
    `num_reads`, with a different number of initial states, or with fewer reads than threads
    goes to the child unsplit.
    """

    def __init__(self, child: dimod.Sampler, num_threads: int = 2) -> None:
        self._children = [child]
        self.num_threads = check_positive_int(num_threads, "num_threads")

    @property
    def children(self) -> list[dimod.Sampler]:
        return self._children

    @property
    def parameters(self) -> dict[str, list]:
        return self.child.parameters.copy()

    @property
    def properties(self) -> dict[str, Any]:
        return {"child_properties": self.child.properties.copy(), "num_threads": self.num_threads}

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
        """Sample `bqm` with the child's parameters, the reads split over the threads."""
        num_reads = parameters.get("num_reads")
        initial_states = parameters.get("initial_states")
        if initial_states is not None:
            initial_array, labels = dimod.as_samples(initial_states)
        if (num_reads is None or num_reads < self.num_threads or self.num_threads == 1 or bqm.num_variables == 0
                or (initial_states is not None and len(initial_array) != num_reads)):
            return self.child.sample(bqm, **parameters)
        chunks = np.array_split(np.arange(num_reads), self.num_threads)
        calls = []
        for rows, seed in zip(chunks, chunk_seeds(parameters.get("seed"), self.num_threads)):
            call = {**parameters, "num_reads": len(rows)}
            if "seed" in self.child.parameters:
                call["seed"] = seed
            if initial_states is not None:
                call["initial_states"] = (initial_array[rows], labels)
            calls.append(call)
        with ThreadPoolExecutor(max_workers=self.num_threads) as pool:
            samplesets = list(pool.map(lambda call: self.child.sample(bqm, **call), calls))
        combined = dimod.concatenate(samplesets)
        # the chunks share every setting; their timings overlap, so none is reported as the call's
        combined.info.update({key: value for key, value in samplesets[0].info.items() if key != "timing"})
        combined.info["num_threads"] = self.num_threads
        return combined

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.child).__name__}(), num_threads={self.num_threads})"
