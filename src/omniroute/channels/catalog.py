"""Find the channel packages this build ships: every ``omniroute.channels.<name>`` package that
exposes a ``SPEC`` (a :class:`ChannelSpec`), like Home Assistant's integrations folder.

Bootstrap calls :func:`installed_channels` once; adding a channel is adding its package.
"""

from __future__ import annotations

import importlib
import pkgutil

import omniroute.channels as channels_package
from omniroute.channels.registry import ChannelRegistry, ChannelSpec


def installed_channels() -> ChannelRegistry:
    registry = ChannelRegistry()
    for module in pkgutil.iter_modules(channels_package.__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"{channels_package.__name__}.{module.name}")
        spec = getattr(package, "SPEC", None)
        if isinstance(spec, ChannelSpec):
            registry.register(spec)
    return registry
