"""What the customers slice asks of others when two customer records become one."""

from __future__ import annotations

from typing import Protocol

from omniroute.core.uow import UnitOfWork


class MergeHooks(Protocol):
    async def customers_merged(self, uow: UnitOfWork, merged_id: str, survivor_id: str) -> None:
        """Re-point everything of ``merged_id`` at ``survivor_id``, inside the merge's transaction."""
