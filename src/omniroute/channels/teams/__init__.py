"""Microsoft Teams through the Bot Framework: verified activities in, Bot Connector replies out
(see README.md)."""

from __future__ import annotations

from omniroute.channels import fields
from omniroute.channels.registry import N_, ChannelSpec, Field, FieldKind
from omniroute.channels.teams import auth, connector
from omniroute.channels.teams.adapter import CHANNEL, TeamsAdapter

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Microsoft Teams (Bot Framework)",
    factory=TeamsAdapter,
    required_settings=("app_id",),
    required_secrets=("app_password",),
    settings=(
        Field(
            "app_id",
            N_("Microsoft App ID"),
            help=N_("The bot's app registration (Entra ID) client id."),
        ),
        Field(
            "default_service_url",
            N_("Default service URL"),
            FieldKind.URL,
            help=N_(
                "Where to send when a conversation has no known serviceUrl yet "
                "(e.g. https://smba.trafficmanager.net/teams/); unset, such sends fail with the reason."
            ),
        ),
        Field(
            "token_url",
            N_("Token URL"),
            FieldKind.URL,
            default=connector.TOKEN_URL,
            help=N_(
                "Where the bot gets its token. A single-tenant bot uses "
                "https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token."
            ),
        ),
        Field("token_scope", N_("Token scope"), default=connector.TOKEN_SCOPE, advanced=True),
        Field(
            "openid_metadata_url",
            N_("OpenID metadata URL"),
            FieldKind.URL,
            default=auth.OPENID_METADATA_URL,
            help=N_("Where the Bot Connector's signing keys are announced."),
            advanced=True,
        ),
        Field(
            "jwks_url",
            N_("Key set (JWKS) URL"),
            FieldKind.URL,
            help=N_("Read the signing keys from here directly instead of through the OpenID metadata."),
            advanced=True,
        ),
        Field(
            "issuer",
            N_("Token issuer"),
            default=auth.ISSUER,
            help=N_("The issuer inbound tokens must name (other clouds have their own)."),
            advanced=True,
        ),
        fields.ALLOW_PRIVATE_MEDIA_HOSTS,
    ),
    secrets=(
        Field("app_password", N_("App password"), help=N_("A client secret of the bot's app registration.")),
    ),
)
