"""Setting descriptions several channels share (the admin page's form, ``ChannelSpec.settings``):
the media download guard's opt-in and the Meta Graph API base. Each channel lists the ones its
adapter reads; the values are read where they always were (``media.HostGuard.for_settings``,
``meta_common.graph``)."""

from __future__ import annotations

from omniroute.channels.media import ALLOW_PRIVATE_SETTING
from omniroute.channels.meta_common.graph import DEFAULT_API_VERSION, DEFAULT_GRAPH_BASE
from omniroute.channels.registry import N_, Field, FieldKind

ALLOW_PRIVATE_MEDIA_HOSTS = Field(
    ALLOW_PRIVATE_SETTING,
    N_("Allow media on private addresses"),
    FieldKind.BOOLEAN,
    default=False,
    help=N_(
        "Download customers' files from hosts on private, loopback or link-local addresses. Only for a "
        "file server on the same private network as Omniroute (and the local test doubles)."
    ),
    advanced=True,
)

GRAPH_API_VERSION = Field(
    "api_version",
    N_("Graph API version"),
    default=DEFAULT_API_VERSION,
    help=N_("The Graph API version the Meta app is pinned to."),
)

GRAPH_BASE = Field(
    "graph_base",
    N_("Graph API base URL"),
    FieldKind.URL,
    default=DEFAULT_GRAPH_BASE,
    help=N_("Change only to point the account at a local test double."),
    advanced=True,
)
