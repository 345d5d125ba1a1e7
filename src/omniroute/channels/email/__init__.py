"""The email channel: inbound by signed raw-MIME webhook or IMAP polling, outbound by SMTP."""

from __future__ import annotations

from omniroute.channels.email.adapter import CHANNEL, EmailAdapter
from omniroute.channels.email.poller import run_imap_pollers
from omniroute.channels.email.settings import DEFAULT_MAX_TEXT_BYTES, validate_settings
from omniroute.channels.registry import N_, ChannelSpec, Field, FieldKind

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Email (IMAP/SMTP or inbound webhook)",
    factory=EmailAdapter,
    required_settings=("address", "smtp_host"),
    required_secrets=("webhook_secret",),
    validate=validate_settings,
    background=run_imap_pollers,
    max_webhook_bytes=25 * 1024 * 1024,
    settings=(
        Field(
            "address",
            N_("Support address"),
            FieldKind.EMAIL,
            help=N_("The From of replies; mail from it is ignored as our own."),
        ),
        Field(
            "display_name", N_("Display name"), help=N_("The name shown in From (default: the account name).")
        ),
        Field(
            "smtp_host",
            N_("SMTP server"),
            help=N_("The host name of the SMTP server replies go out through."),
        ),
        Field(
            "smtp_port",
            N_("SMTP port"),
            FieldKind.NUMBER,
            help=N_("Default 587 with STARTTLS, 465 with implicit TLS, 25 without either."),
        ),
        Field(
            "smtp_starttls",
            N_("SMTP STARTTLS"),
            FieldKind.BOOLEAN,
            help=N_(
                "Upgrade the connection with STARTTLS (port 587). Default: on unless implicit TLS is on."
            ),
        ),
        Field(
            "smtp_ssl",
            N_("SMTP implicit TLS"),
            FieldKind.BOOLEAN,
            default=False,
            help=N_("TLS from the first byte (port 465); excludes STARTTLS."),
        ),
        Field(
            "smtp_username",
            N_("SMTP user name"),
            help=N_("Used with the SMTP password (default: the support address)."),
        ),
        Field(
            "imap_host",
            N_("IMAP server"),
            help=N_("Poll this mailbox for new mail; leave empty when mail arrives by webhook."),
        ),
        Field("imap_port", N_("IMAP port"), FieldKind.NUMBER, help=N_("Default 993 with TLS, 143 without.")),
        Field(
            "imap_ssl",
            N_("IMAP TLS"),
            FieldKind.BOOLEAN,
            default=True,
            help=N_("Turn off only for an IMAP server on the same host."),
        ),
        Field("imap_username", N_("IMAP user name"), help=N_("Default: the support address.")),
        Field("mailbox", N_("Mailbox folder"), default="INBOX", help=N_("The IMAP folder to poll.")),
        Field(
            "poll_seconds",
            N_("Polling interval (seconds)"),
            FieldKind.NUMBER,
            default=60,
            help=N_("How often the IMAP mailbox is read (at least 5)."),
        ),
        Field(
            "plus_address_replies",
            N_("Plus-addressed Reply-To"),
            FieldKind.BOOLEAN,
            default=False,
            help=N_(
                "Set Reply-To: support+<conversation>@… on replies; only if your mail server delivers "
                "sub-addresses."
            ),
        ),
        Field(
            "tls_ca_file",
            N_("Trusted CA file"),
            help=N_(
                "A PEM bundle on the server to trust instead of the system's CAs (a private CA). "
                "Certificates and host names are always checked."
            ),
            advanced=True,
        ),
        Field(
            "timeout_seconds",
            N_("Connection timeout (seconds)"),
            FieldKind.NUMBER,
            default=30,
            help=N_("Per SMTP or IMAP connection."),
            advanced=True,
        ),
        Field(
            "max_text_bytes",
            N_("Longest mail text (bytes)"),
            FieldKind.NUMBER,
            default=DEFAULT_MAX_TEXT_BYTES,
            help=N_("Longer mail text is kept shortened."),
            advanced=True,
        ),
        Field(
            "authserv_id",
            N_("Receiving server (authserv-id)"),
            help=N_(
                "The name your receiving mail server writes in Authentication-Results (e.g. mx.google.com; "
                "several separated by commas). A sender counts as verified only when that server reports "
                "DMARC or aligned DKIM passing; empty: no sender is verified."
            ),
        ),
    ),
    secrets=(
        Field(
            "webhook_secret",
            N_("Webhook secret"),
            help=N_(
                "Any long random string: signs webhook deliveries and keys the conversation tokens, "
                "even if mail only arrives by IMAP."
            ),
        ),
        Field(
            "smtp_password",
            N_("SMTP password"),
            help=N_("Leave unset for a server that needs no login."),
        ),
        Field("imap_password", N_("IMAP password"), help=N_("Needed to poll the mailbox.")),
    ),
)
