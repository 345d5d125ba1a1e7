"""User-interface languages: gettext catalogues (Babel) for the server-rendered pages and their scripts.

The ``.po`` files under ``omniroute/locale/<lang>/LC_MESSAGES/`` are the only source of truth. They
are compiled in memory the first time a language is used (no ``.mo`` files in the repository, so a
translation cannot be stale against its source), and the same catalogue feeds both Jinja2's
``{% trans %}`` / ``_()`` and the JSON catalogue a page embeds for its ES modules: the entries whose
source locations are ``.js`` files (and the channel specs' field labels, which the admin page shows).

Templates read the translations from their render context (``translations``), never from a
process-wide setting, so two requests in two languages can render at the same time.
"""

from __future__ import annotations

import json
from functools import lru_cache
from gettext import NullTranslations
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "omniroute"
DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES = ("en", "es")
#: The language a person picked on this browser: used where no user record says otherwise.
LANG_COOKIE = "omniroute_lang"
#: Shown in the language picker in each language's own name, so nobody is stranded in the wrong one.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
#: Where the channel specs' field descriptions live (as the catalogue's source locations name them).
CHANNEL_SPECS = "src/omniroute/channels/"

_NULL = NullTranslations()


def normalise(value: str | None) -> str | None:
    """``es-MX`` → ``es``; None for a language we do not ship."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED_LOCALES else None


def choose_locale(query: str | None, cookie: str | None, user_locale: str | None) -> str:
    """An explicit choice in the URL, else the signed-in user's own (``users.locale``, set with
    ``PUT /api/v1/me/locale``), else the one this browser remembers in the cookie."""
    return normalise(query) or normalise(user_locale) or normalise(cookie) or DEFAULT_LOCALE


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def catalog(locale: str) -> Catalog:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def translations(locale: str) -> Translations:
    """The compiled catalogue (fuzzy entries are left out, as ``msgfmt`` would)."""
    buffer = BytesIO()
    write_mo(buffer, catalog(locale))
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def js_catalogue(locale: str) -> dict[str, str]:
    """msgid → translation for every translated string used by a script (untranslated ones fall
    back to the msgid in the browser, like gettext)."""
    out: dict[str, str] = {}
    for message in catalog(locale):
        if not message.id or message.fuzzy or not isinstance(message.id, str):
            continue
        if not any(_for_scripts(filename) for filename, _ in message.locations):
            continue
        if isinstance(message.string, str) and message.string:
            out[message.id] = message.string
    return out


def _for_scripts(filename: str) -> bool:
    """Text a script shows: its own, or the channel catalog's field labels and help (marked with
    ``N_`` in the channel specs, served in English by the API, translated by the admin page)."""
    return filename.endswith(".js") or filename.startswith(CHANNEL_SPECS)


def script_json(data: Any) -> Markup:
    """JSON safe inside a ``<script type="application/json">`` element (no ``</script>`` breakout)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))  # noqa: S704 - escaped above


def _active(context: Context) -> NullTranslations:
    value = context.get("translations")
    return value if isinstance(value, NullTranslations) else _NULL


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _active(context).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _active(context).ngettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, ctx: str, message: str) -> str:
    return _active(context).pgettext(ctx, message)


@pass_context
def _npgettext(context: Context, ctx: str, singular: str, plural: str, n: int) -> str:
    return _active(context).npgettext(ctx, singular, plural, n)


def install(env: Environment) -> None:
    """Enable ``{% trans %}`` and ``_()`` in ``env``; pages without ``translations`` stay English."""
    env.add_extension("jinja2.ext.i18n")
    # newstyle: ``_('Hi %(name)s', name=x)`` formats and autoescapes the variables itself.
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        gettext=_gettext,
        ngettext=_ngettext,
        pgettext=_pgettext,
        npgettext=_npgettext,
        newstyle=True,
    )
