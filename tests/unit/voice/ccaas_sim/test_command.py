"""``omniroute ccaas-sim``: its options, and the refusals that keep it loopback-only and signed."""

from __future__ import annotations

import pytest

from omniroute.cli import main, parser


def test_the_command_takes_the_provider_and_its_secret() -> None:
    args = parser().parse_args(
        ["ccaas-sim", "--omniroute-url", "http://127.0.0.1:8000", "--provider-id", "p1", "--secret", "s"]
    )
    assert (args.command, args.host, args.port, args.provider_id, args.secret) == (
        "ccaas-sim",
        "127.0.0.1",
        8090,
        "p1",
        "s",
    )
    assert args.ring_seconds == 20
    assert args.configure is False


def test_it_refuses_to_serve_beyond_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ccaas-sim", "--host", "0.0.0.0", "--provider-id", "p1", "--secret", "s"]) == 2  # noqa: S104
    assert "loopback only" in capsys.readouterr().err


def test_it_needs_a_provider_and_secret_or_configure(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMNIROUTE_CCAAS_SECRET", raising=False)
    assert main(["ccaas-sim", "--provider-id", "p1"]) == 2
    assert "--configure" in capsys.readouterr().err


def test_an_api_token_makes_omniroute_route_the_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNIROUTE_CCAAS_TOKEN", raising=False)
    args = parser().parse_args(["ccaas-sim", "--provider-id", "p1", "--secret", "s", "--api-token", "omv_x"])
    assert (args.api_token, args.routes_calls) == ("omv_x", False)
    configure = parser().parse_args(["ccaas-sim", "--configure", "--routes-calls"])
    assert (configure.configure, configure.routes_calls) == (True, True)
