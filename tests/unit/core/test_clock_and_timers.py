import asyncio
from datetime import timedelta

from omniroute.core.clock import ManualClock
from omniroute.core.timers import DueTimers


async def test_timers_fire_in_due_order_when_virtual_time_passes() -> None:
    clock = ManualClock()
    fired: list[str] = []

    async def record(key: str) -> None:
        fired.append(key)

    timers = DueTimers(clock, record)
    timers.start()
    try:
        start = clock.now()
        timers.schedule("late", start + timedelta(seconds=30))
        timers.schedule("early", start + timedelta(seconds=10))
        timers.schedule("cancelled", start + timedelta(seconds=20))
        timers.cancel("cancelled")
        await clock.advance(9)
        assert fired == []
        await clock.advance(1)
        assert fired == ["early"]
        await clock.advance(60)
        assert fired == ["early", "late"]
        assert timers.pending() == {}
    finally:
        await timers.stop()


async def test_a_rescheduled_timer_fires_once_at_its_new_time() -> None:
    clock = ManualClock()
    fired: list[str] = []

    async def record(key: str) -> None:
        fired.append(key)

    timers = DueTimers(clock, record)
    timers.start()
    try:
        timers.schedule("offer", clock.now() + timedelta(seconds=5))
        timers.schedule("offer", clock.now() + timedelta(seconds=50))
        await clock.advance(10)
        assert fired == []
        await clock.advance(40)
        await asyncio.sleep(0)
        assert fired == ["offer"]
    finally:
        await timers.stop()
