"""Find the channel packages this build ships: every ``omniroute.channels.<name>`` package that
exposes a ``SPEC`` (a :class:`ChannelSpec`), like Home Assistant's integrations folder.

Bootstrap calls :func:`installed_channels` once; adding a channel is adding its package. A package
that fails to import is logged and left out rather than taking every other channel down with it; the
test suite asserts that every shipped package imports.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

import omniroute.channels as channels_package
from omniroute.channels.registry import ChannelRegistry, ChannelSpec

log = logging.getLogger(__name__)


def installed_channels() -> ChannelRegistry:
    registry, failures = discover()
    for name, error in failures.items():
        log.error("channel package %s is left out: %s", name, error)
    return registry


def discover() -> tuple[ChannelRegistry, dict[str, str]]:
    """The registry, and the packages that failed to import with why."""
    registry = ChannelRegistry()
    failures: dict[str, str] = {}
    for module in pkgutil.iter_modules(channels_package.__path__):
        if not module.ispkg:
            continue
        try:
            package = importlib.import_module(f"{channels_package.__name__}.{module.name}")
        except Exception as exc:  # reported, and the test suite fails on it
            failures[module.name] = repr(exc)
            continue
        spec = getattr(package, "SPEC", None)
        if isinstance(spec, ChannelSpec):
            registry.register(spec)
    return registry, failures
