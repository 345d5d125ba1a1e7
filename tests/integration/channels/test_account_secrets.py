"""An account whose stored secrets cannot be read says so: the adapter is not built (503 for its
webhooks) and an update that must check the secrets names the one to send again."""

from __future__ import annotations

from pathlib import Path

import pytest

from omniroute.channels.service import CredentialsUnavailable
from omniroute.core.clock import ManualClock
from omniroute.core.errors import Conflict
from omniroute.core.secretbox import SecretBox
from tests.integration.support import store_container


async def test_unreadable_secrets_are_reported_and_sending_them_again_heals(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with store_container(database_url, tmp_path, ManualClock()) as c:
        account = await c.channels.create_account(
            channel="sms_twilio",
            name="Support SMS",
            settings={"account_sid": "AC" + "0" * 32, "from_number": "+15005550006"},
            secrets={"auth_token": "the-auth-token"},
            default_queue_id=None,
        )
        assert "the-auth-token" not in str(account.secrets)
        monkeypatch.setattr(c.channels, "secrets", SecretBox("another-secret-key-of-32-characters!!"))
        c.channels.invalidate(account.id)
        with pytest.raises(CredentialsUnavailable) as unreadable:
            await c.channels.adapter(account.id)
        assert unreadable.value.status == 503
        assert "OMNIROUTE_SECRET_KEY" not in unreadable.value.reason  # shown to providers
        assert "secret 'auth_token' of sms_twilio account 'Support SMS'" in unreadable.value.detail
        with pytest.raises(Conflict, match=r"'auth_token' cannot be read \(cannot decrypt"):
            await c.channels.update_account(account.id, actor_id=None, name="Renamed")
        await c.channels.update_account(account.id, actor_id=None, secrets={"auth_token": "new-token"})
        _, adapter = await c.channels.adapter(account.id)
        assert adapter.channel == "sms_twilio"
