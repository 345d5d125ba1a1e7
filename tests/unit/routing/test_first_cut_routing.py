from datetime import UTC, datetime, timedelta

from omniroute.routing.model import AgentCandidate, Presence, choose_agent

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def agent(
    name: str,
    *,
    presence: Presence = Presence.AVAILABLE,
    load: int = 0,
    capacity: int = 3,
    idle_minutes: float | None = 10,
) -> AgentCandidate:
    idle_since = None if idle_minutes is None else T0 - timedelta(minutes=idle_minutes)
    return AgentCandidate(name, presence, load, capacity, idle_since)


def test_longest_idle_available_agent_wins() -> None:
    picked = choose_agent(
        [agent("a", idle_minutes=5), agent("b", idle_minutes=30), agent("c", idle_minutes=1)]
    )
    assert picked is not None
    assert picked.agent_id == "b"


def test_an_agent_who_never_worked_counts_as_longest_idle() -> None:
    picked = choose_agent([agent("a", idle_minutes=300), agent("z", idle_minutes=None)])
    assert picked is not None
    assert picked.agent_id == "z"


def test_only_available_presence_receives_work() -> None:
    others = [agent(p.value, presence=p) for p in Presence if p is not Presence.AVAILABLE]
    assert choose_agent(others) is None
    picked = choose_agent([*others, agent("ready", idle_minutes=0)])
    assert picked is not None
    assert picked.agent_id == "ready"


def test_agents_at_capacity_are_skipped() -> None:
    picked = choose_agent(
        [
            agent("full", load=3, capacity=3, idle_minutes=60),
            agent("free", load=2, capacity=3, idle_minutes=1),
        ]
    )
    assert picked is not None
    assert picked.agent_id == "free"


def test_excluded_agents_never_get_the_same_item_again() -> None:
    pool = [agent("a", idle_minutes=60), agent("b", idle_minutes=1)]
    first = choose_agent(pool)
    assert first is not None
    assert first.agent_id == "a"
    second = choose_agent(pool, frozenset({"a"}))
    assert second is not None
    assert second.agent_id == "b"
    assert choose_agent(pool, frozenset({"a", "b"})) is None


def test_ties_break_by_id_so_the_choice_is_stable() -> None:
    picked = choose_agent([agent("m", idle_minutes=7), agent("k", idle_minutes=7)])
    assert picked is not None
    assert picked.agent_id == "k"
