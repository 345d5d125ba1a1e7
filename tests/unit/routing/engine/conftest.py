import pytest


@pytest.fixture(params=["indexed", "scan"])
def selector(request: pytest.FixtureRequest) -> str:
    """Every rule test runs against the indexed engine and the brute-force reference."""
    return str(request.param)
