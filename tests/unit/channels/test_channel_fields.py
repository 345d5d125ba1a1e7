"""Every channel describes every setting and secret its accounts take (the admin page builds its form
from these descriptions): the keys its adapter, its ``validate`` and the shared modules it uses read
are described (or listed as managed elsewhere), nothing stale is described, and the descriptions are
well formed and translated."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

import omniroute.channels as channels_package
from omniroute.channels.catalog import discover
from omniroute.channels.media import ALLOW_PRIVATE_SETTING
from omniroute.channels.registry import AccountConfig, AdapterContext, ChannelSpec, Field, FieldKind
from omniroute.core.clock import ManualClock
from omniroute.web import i18n

PACKAGES = Path(channels_package.__file__).parent
REGISTRY, _ = discover()
SPECS = REGISTRY.channels()
IDS = [s.channel for s in SPECS]

# `settings["key"]`, `settings.get("key")`, `s.get("key")`, `_bool(s, "key", …)` (email's readers).
SETTING_READ = re.compile(
    r"""\b(?:settings|s)\s*(?:\[\s*|\.get\(\s*)["'](\w+)["']|\b_\w+\(\s*(?:settings|s)\s*,\s*["'](\w+)["']"""
)
SECRET_READ = re.compile(r"""\bsecrets\s*(?:\[\s*|\.get\(\s*)["'](\w+)["']""")
# Module constants naming a setting (`SETTING = "human_agent_tag"`, `WABA_SETTING = "waba_id"`).
SETTING_CONSTANT = re.compile(r"""^\w*SETTING\w*\s*=\s*["'](\w+)["']""", re.MULTILINE)
# `settings.get(k) for k in ("a", "b")`: each quoted name on such a line.
SETTINGS_LOOP = re.compile(r"settings\.get\((\w+)\) for \1 in \(([^)]*)\)")


def _sources(spec: ChannelSpec) -> Iterator[str]:
    """The channel package's code (not its test double) and the shared readers it uses."""
    package = PACKAGES / spec.channel
    for path in sorted(package.glob("*.py")):
        if path.name != "double.py":
            yield path.read_text()
    code = "".join(path.read_text() for path in package.glob("*.py") if path.name != "double.py")
    if "meta_common" in code:
        for path in sorted((PACKAGES / "meta_common").glob("*.py")):
            if path.name != "double.py":
                yield path.read_text()


def read_keys(spec: ChannelSpec) -> tuple[set[str], set[str]]:
    """The setting and secret keys the channel's code reads, found in its source."""
    settings: set[str] = set()
    secrets: set[str] = set()
    for text in _sources(spec):
        for match in SETTING_READ.finditer(text):
            settings.add(match.group(1) or match.group(2))
        settings.update(SETTING_CONSTANT.findall(text))
        for match in SETTINGS_LOOP.finditer(text):
            settings.update(re.findall(r"""["'](\w+)["']""", match.group(2)))
        secrets.update(SECRET_READ.findall(text))
        if "HostGuard.for_settings" in text:
            settings.add(ALLOW_PRIVATE_SETTING)
    return settings, secrets


def test_every_shipped_channel_is_checked() -> None:
    assert set(IDS) >= {"custom", "email", "messenger", "sms_twilio", "teams", "telegram", "whatsapp"}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_what_the_code_reads_is_described_and_nothing_more(spec: ChannelSpec) -> None:
    read_settings, read_secrets = read_keys(spec)
    described = {f.key for f in spec.settings} | set(spec.managed_settings)
    assert read_settings - described == set(), "read but not described"
    assert described - read_settings == set(), "described but never read"
    assert read_secrets ^ {f.key for f in spec.secrets} == set()


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_required_keys_are_described_and_marked(spec: ChannelSpec) -> None:
    settings, secrets = spec.setting_fields(), spec.secret_fields()
    # Every required key has its own description, not the bare fallback.
    assert set(spec.required_settings) <= {f.key for f in spec.settings}
    assert set(spec.required_secrets) <= {f.key for f in spec.secrets}
    assert {f.key for f in settings if f.required} == set(spec.required_settings)
    assert {f.key for f in secrets if f.required} == set(spec.required_secrets)
    # `required` comes from required_settings/_secrets, the rule the API applies: never said twice.
    assert not any(f.required for f in (*spec.settings, *spec.secrets))


def _well_formed(field: Field) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", field.key), field.key
    assert field.label.strip()
    assert field.label == field.label.strip()
    if field.kind is FieldKind.CHOICE:
        assert field.choices
        assert field.default is None or field.default in field.choices
    else:
        assert field.choices == ()
    expected = {FieldKind.BOOLEAN: bool, FieldKind.NUMBER: int}.get(field.kind, str)
    assert field.default is None or type(field.default) is expected, field.key


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_descriptions_are_well_formed(spec: ChannelSpec) -> None:
    for fields in (spec.setting_fields(), spec.secret_fields()):
        keys = [f.key for f in fields]
        assert len(keys) == len(set(keys))
        for field in fields:
            _well_formed(field)
    assert all(f.kind is FieldKind.TEXT and f.default is None for f in spec.secrets)
    assert not set(spec.managed_settings) & {f.key for f in spec.settings}


def test_a_spec_that_names_only_its_required_keys_still_gets_fields() -> None:
    spec = ChannelSpec(
        channel="third_party",
        title="Third party",
        factory=lambda _: None,  # type: ignore[arg-type,return-value]
        required_settings=("api_key_id",),
        required_secrets=("token",),
        settings=(Field("region", "Region"),),
    )
    assert [(f.key, f.label, f.required) for f in spec.setting_fields()] == [
        ("region", "Region", False),
        ("api_key_id", "api key id", True),
    ]
    assert [(f.key, f.required) for f in spec.secret_fields()] == [("token", True)]


def test_labels_and_help_reach_the_pages_script_catalogue_in_spanish() -> None:
    spanish = i18n.js_catalogue("es")
    for spec in SPECS:
        for field in (*spec.settings, *spec.secrets):
            assert field.label in spanish, field.label
            assert not field.help or field.help in spanish, field.help
    assert spanish["From number"] == "Número remitente"


# -- the same, by running the code: what building each adapter and validating an account reads ----


class Recording(Mapping[str, Any]):
    """A read-only mapping that notes every key asked for (``get``, ``[]`` and ``in`` all ask)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


SAMPLES: dict[str, dict[str, Any]] = {
    "sms_twilio": {"account_sid": "AC123", "from_number": "+15005550006"},
    "whatsapp": {"phone_number_id": "106540352242922"},
    "messenger": {"page_id": "682498302938465"},
    "teams": {"app_id": "c9e3a6f1-4d2b-4f7a-9b1e-3a5d7c9e1f20"},
    "email": {"address": "support@acme.example", "smtp_host": "smtp.acme.example"},
    "custom": {"outbound_url": "https://acme.example/omniroute"},
}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_building_the_adapter_reads_only_described_keys(spec: ChannelSpec) -> None:
    settings = Recording(dict(SAMPLES.get(spec.channel, {})))
    secrets = Recording({f.key: "s3cret-value_1" for f in spec.secret_fields()})
    if spec.validate is not None:
        assert spec.validate(settings, secrets) == []
    async with httpx.AsyncClient() as http:
        config = AccountConfig(
            "acc-1", spec.channel, "Test", settings, secrets, "https://o.example/webhooks/acc-1"
        )
        spec.factory(AdapterContext(config, http, ManualClock()))
    assert settings.asked - {f.key for f in spec.settings} - set(spec.managed_settings) == set()
    assert secrets.asked - {f.key for f in spec.secrets} == set()
    assert settings.asked >= set(spec.required_settings)
