"""The ``Embedder`` port: sentences in, L2-normalised float32 vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

#: Asymmetric models (e5) embed a search query and the document it should find differently. Intent
#: classification and sentiment compare like with like, so they embed everything as ``"query"``.
EmbedKind = Literal["query", "passage"]

Vectors = NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Maps sentences to unit vectors; the same text always gives the same vector."""

    @property
    def name(self) -> str:
        """Identifies the model and its settings, e.g. for caching vectors."""
        ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "query") -> Vectors:
        """Return an ``(len(texts), dimension)`` float32 array whose rows have unit L2 norm.

        A text with nothing to embed (blank, punctuation only) may give a zero row instead.
        """
        ...


def l2_normalise(matrix: NDArray[np.floating]) -> Vectors:
    """Scale each row to unit length, leaving all-zero rows at zero."""
    out = np.array(matrix, dtype=np.float32)  # a copy: callers keep their array
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out
