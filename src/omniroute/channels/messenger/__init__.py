"""Facebook Messenger (Meta Messenger Platform): one account per Facebook Page.
See docs/channels/messenger.md."""

from __future__ import annotations

from omniroute.channels import fields
from omniroute.channels.messenger.adapter import CHANNEL, MessengerAdapter
from omniroute.channels.messenger.window import SETTING, validate_settings
from omniroute.channels.registry import N_, ChannelSpec, Field, FieldKind

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Facebook Messenger",
    factory=MessengerAdapter,
    required_settings=("page_id",),
    required_secrets=("app_secret", "verify_token", "access_token"),
    validate=validate_settings,
    settings=(
        Field(
            "page_id",
            N_("Page ID"),
            help=N_(
                "The Facebook Page: replies go out as it, and webhook entries of other Pages are ignored."
            ),
        ),
        Field(
            SETTING,
            N_("Reply up to 7 days later (HUMAN_AGENT tag)"),
            FieldKind.BOOLEAN,
            default=False,
            help=N_(
                "Agents' replies 24 hours to 7 days after the customer's last message go out with Meta's "
                "HUMAN_AGENT tag. Turn it on only once Meta granted the app the Human Agent permission."
            ),
        ),
        fields.GRAPH_API_VERSION,
        fields.GRAPH_BASE,
        fields.ALLOW_PRIVATE_MEDIA_HOSTS,
    ),
    secrets=(
        Field(
            "app_secret",
            N_("App secret"),
            help=N_("The Meta app's secret: checks the webhook signatures and signs every Graph API call."),
        ),
        Field(
            "verify_token",
            N_("Verify token"),
            help=N_("A random string you choose; type the same in the dashboard's webhook settings."),
        ),
        Field("access_token", N_("Page access token"), help=N_("A Page access token with pages_messaging.")),
    ),
)
