"""Messenger Send API errors to retry decisions."""

from __future__ import annotations

import httpx
import pytest

from omniroute.channels.messenger.errors import to_send_error
from omniroute.channels.meta_common.graph import GraphError
from omniroute.channels.port import PermanentSendError, TransientSendError


def graph_error(status: int, code: int, subcode: int | None = None) -> GraphError:
    error: dict[str, object] = {"message": f"(#{code}) something", "type": "OAuthException", "code": code}
    if subcode:
        error["error_subcode"] = subcode
    return GraphError.from_response(httpx.Response(status, json={"error": error}))


@pytest.mark.parametrize(
    ("code", "subcode"), [(10, 2018278), (100, 2018001), (190, None), (551, None), (200, None)]
)
def test_permanent(code: int, subcode: int | None) -> None:
    assert isinstance(to_send_error(graph_error(400, code, subcode)), PermanentSendError)


@pytest.mark.parametrize("code", [1200, 2, 4, 613])
def test_transient(code: int) -> None:
    assert isinstance(to_send_error(graph_error(400, code)), TransientSendError)


def test_outside_the_window_says_what_to_do() -> None:
    reason = str(to_send_error(graph_error(400, 10, 2018278)))
    assert "Graph error 10/2018278" in reason
    assert "24 hours" in reason
    assert "HUMAN_AGENT" in reason
