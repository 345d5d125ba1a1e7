"""Every ``Embedder`` implementation, for the shared contract tests (one parametrised fixture)."""

from __future__ import annotations

import pytest

from omniroute.bots.understanding.e5 import E5Embedder
from omniroute.bots.understanding.embedder import Embedder
from omniroute.bots.understanding.lexical import LexicalEmbedder

# One instance per kind for the whole session: the e5 model takes a second to load and embeds
# about 50 sentences/s on two cores, so tests reuse it (the adapter shares the model anyway).
_EMBEDDERS: dict[str, Embedder] = {"lexical": LexicalEmbedder(), "e5": E5Embedder()}


@pytest.fixture(params=sorted(_EMBEDDERS), scope="session")
def embedder(request: pytest.FixtureRequest) -> Embedder:
    return _EMBEDDERS[request.param]


@pytest.fixture(scope="session")
def e5() -> Embedder:
    return _EMBEDDERS["e5"]


@pytest.fixture(scope="session")
def lexical() -> Embedder:
    return _EMBEDDERS["lexical"]
