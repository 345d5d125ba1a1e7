"""Graph error codes to retry decisions, and the 24-hour customer-service window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from omniroute.channels.meta_common.graph import GraphError
from omniroute.channels.port import PermanentSendError, TransientSendError
from omniroute.channels.whatsapp import window
from omniroute.channels.whatsapp.errors import to_send_error


def graph_error(status: int, code: int | None, **more: object) -> GraphError:
    error: dict[str, object] = {
        "message": f"(#{code}) something",
        "type": "OAuthException",
        "fbtrace_id": "A1",
    }
    if code is not None:
        error["code"] = code
    error.update(more)
    return GraphError.from_response(httpx.Response(status, json={"error": error}))


@pytest.mark.parametrize("code", [131026, 131047, 100, 190])
def test_permanent_codes(code: int) -> None:
    assert isinstance(to_send_error(graph_error(400, code)), PermanentSendError)


@pytest.mark.parametrize("code", [130429, 131056, 80007, 2, 4])
def test_transient_codes(code: int) -> None:
    assert isinstance(to_send_error(graph_error(400, code)), TransientSendError)


def test_http_status_decides_when_the_code_is_unknown() -> None:
    assert isinstance(to_send_error(graph_error(503, None)), TransientSendError)
    assert isinstance(to_send_error(graph_error(500, 99999)), TransientSendError)
    assert isinstance(to_send_error(graph_error(400, 99999)), PermanentSendError)
    assert isinstance(to_send_error(graph_error(400, 99999, is_transient=True)), TransientSendError)
    unreadable = GraphError.from_response(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert isinstance(to_send_error(unreadable), TransientSendError)


def test_re_engagement_says_a_template_is_needed() -> None:
    error = to_send_error(
        graph_error(
            400, 131047, error_data={"messaging_product": "whatsapp", "details": "24 hours have passed"}
        )
    )
    assert "Graph error 131047" in str(error)
    assert "24 hours have passed" in str(error)
    assert "pre-approved template" in str(error)


def test_the_window_is_24_hours_from_the_customers_last_message() -> None:
    last = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    window.check(None, last + timedelta(days=9))  # unknown here: Graph decides
    window.check(last, last + timedelta(hours=24))
    with pytest.raises(PermanentSendError, match="only a pre-approved template"):
        window.check(last, last + timedelta(hours=24, seconds=1))
