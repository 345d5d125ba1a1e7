"""WhatsApp Cloud API (Meta): one account per business phone number. See docs/channels/whatsapp.md."""

from __future__ import annotations

from omniroute.channels import fields
from omniroute.channels.registry import N_, ChannelSpec, Field
from omniroute.channels.whatsapp.adapter import CHANNEL, WhatsAppAdapter
from omniroute.channels.whatsapp.templates import SETTING, WABA_SETTING, validate_settings

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="WhatsApp Cloud API",
    factory=WhatsAppAdapter,
    required_settings=("phone_number_id",),
    required_secrets=("app_secret", "verify_token", "access_token"),
    validate=validate_settings,
    settings=(
        Field(
            "phone_number_id",
            N_("Phone number ID"),
            help=N_(
                "The Cloud API phone number ID (not the phone number itself), from Meta's App Dashboard."
            ),
        ),
        Field(
            WABA_SETTING,
            N_("WhatsApp Business Account ID"),
            help=N_("Digits. Needed to sync the approved message templates from Meta."),
        ),
        Field(
            "list_button_label",
            N_("List button label"),
            default="Options",
            help=N_("The button that opens a list of more than 3 choices (at most 20 characters)."),
        ),
        fields.GRAPH_API_VERSION,
        fields.GRAPH_BASE,
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
        Field(
            "access_token",
            N_("Access token"),
            help=N_("A System User access token with whatsapp_business_messaging."),
        ),
    ),
    # The template list is kept by the template sync and its own endpoints, not the account form.
    managed_settings=(SETTING,),
)
