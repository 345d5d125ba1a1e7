"""The scenario format, the simulator's behaviour and the ``omniroute simulate`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omniroute.cli import main
from omniroute.routing.simulate import ScenarioError, load_scenario, parse_scenario, simulate

EXAMPLES = Path(__file__).parents[3] / "examples" / "scenarios"


def small(**overrides: Any) -> dict[str, Any]:
    scenario: dict[str, Any] = {
        "name": "small",
        "duration": "2h",
        "queues": [{"id": "q", "auto_accept": True, "service_level": "30s"}],
        "agents": [{"name": "a", "count": 3, "queues": ["q"], "capacity": {"total_units": 1}}],
        "streams": [
            {
                "name": "chat",
                "queue": "q",
                "arrivals": {"poisson": {"per_hour": 40}},
                "handle_time": {"exponential": "3m"},
            }
        ],
    }
    scenario.update(overrides)
    return scenario


def test_same_seed_same_report() -> None:
    scenario = parse_scenario(small())
    first, second = simulate(scenario), simulate(scenario)
    assert first == second
    assert simulate(scenario, seed=99) != first


def test_patience_makes_customers_abandon() -> None:
    stream = small()["streams"][0] | {
        "patience": {"exponential": "20s"},
        "arrivals": {"poisson": {"per_hour": 90}},
    }
    report = simulate(parse_scenario(small(streams=[stream])))
    q = report.queue("q")
    assert q.abandoned > 0
    assert q.answered + q.abandoned + q.unanswered == q.arrived
    assert q.abandon_rate == pytest.approx(q.abandoned / (q.answered + q.abandoned))


def test_no_agents_on_shift_means_nobody_is_answered() -> None:
    agents = [{"name": "a", "count": 2, "queues": ["q"], "shifts": [{"start": "3h", "end": "4h"}]}]
    stream = small()["streams"][0] | {"patience": {"fixed": "5m"}}
    report = simulate(parse_scenario(small(agents=agents, streams=[stream], drain="10m")))
    q = report.queue("q")
    assert q.answered == 0
    assert q.abandoned == q.arrived > 0
    assert q.occupancy is None  # nobody scheduled inside the window


def test_fixed_arrival_times_and_handle_times() -> None:
    stream = {
        "name": "s",
        "queue": "q",
        "arrivals": {"times": [0, 10, 20, 30]},
        "handle_time": {"fixed": 60},
    }
    agents = [{"name": "a", "count": 1, "queues": ["q"], "capacity": {"total_units": 1}}]
    report = simulate(parse_scenario(small(agents=agents, streams=[stream], duration="10m")))
    q = report.queue("q")
    assert (q.answered, q.abandoned) == (4, 0)
    # Waits 0, 50, 100, 150 seconds: ASA 75 s; only the first within 30 s.
    assert q.asa_seconds == pytest.approx(75.0)
    assert q.service_level == pytest.approx(0.25)
    assert q.p_wait == pytest.approx(0.75)


def test_manual_offers_that_are_declined_go_round() -> None:
    agents = [
        {"name": "a", "count": 2, "queues": ["q"], "accept": {"probability": 0.5, "after": {"fixed": "5s"}}},
    ]
    queues = [{"id": "q", "auto_accept": False}]
    report = simulate(parse_scenario(small(agents=agents, queues=queues)))
    q = report.queue("q")
    # An item both agents declined three times waits for someone else (the decline limit).
    assert q.answered + q.unanswered == q.arrived
    assert q.answered >= q.arrived - 2
    assert report.decisions > 3 * q.answered  # declines and re-offers happened


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"queues": []}, "at least one queue"),
        ({"queues": [{"id": "q", "method": "fastest"}]}, "queues[0].method: 'fastest' is not one of"),
        ({"duration": "soon"}, "duration: expected a duration"),
        ({"agents": [{"name": "a", "queues": ["nope"]}]}, "agents[0].queues: unknown queue(s) ['nope']"),
        ({"streams": [{"name": "s", "queue": "q", "arrivals": {"poisson": {"per_hour": 1}}}]}, "handle_time"),
        (
            {"streams": [{"name": "s", "queue": "q", "arrivals": {"burst": 1}, "handle_time": {"fixed": 1}}]},
            "unknown kind 'burst'",
        ),
        (
            {
                "streams": [
                    {"name": "s", "queue": "q", "arrivals": {"times": [1]}, "handle_time": {"expo": 1}}
                ]
            },
            "unknown distribution 'expo'",
        ),
        ({"colour": "blue"}, "unknown key(s) ['colour']"),
    ],
)
def test_bad_scenarios_say_what_is_wrong(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=None) as caught:
        parse_scenario(small(**patch))
    assert message in str(caught.value)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.queues
    assert scenario.streams


def test_cli_prints_a_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small()))
    assert main(["simulate", str(path)]) == 0
    table = capsys.readouterr().out
    assert "queue" in table
    assert "SL" in table
    assert main(["simulate", str(path), "--json", "--seed", "5"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["seed"] == 5
    assert data["queues"][0]["queue_id"] == "q"


def test_cli_reports_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("queues: [")
    assert main(["simulate", str(path)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
