"""UI languages: choosing one, the compiled catalogues, the scripts' JSON catalogue, and catalogues
that stay in step with the text in the workspace's template and scripts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from jinja2 import DictLoader, Environment

from omniroute.web import i18n

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


@pytest.mark.parametrize(
    ("query", "cookie", "user", "expected"),
    [
        ("es", "en", "en", "es"),  # an explicit choice wins
        (None, "es", "en", "en"),  # then the signed-in user's own, over this browser's cookie
        (None, None, "es_ES", "es"),  # regions reduce to the language
        ("xx", "es-MX", "fr", "es"),  # unknown values are ignored: then the cookie
        (None, None, "fr", "en"),  # and English when nothing we ship fits
        ("", "", None, "en"),
    ],
)
def test_choose_locale(query: str | None, cookie: str | None, user: str | None, expected: str) -> None:
    assert i18n.choose_locale(query, cookie, user) == expected


def test_translations_compile_from_the_po_files() -> None:
    assert i18n.translations("es").gettext("Presence") == "Presencia"
    assert i18n.translations("en").gettext("Presence") == "Presence"
    assert i18n.translations("es").gettext("not in the catalogue") == "not in the catalogue"


def test_script_catalogue_holds_only_script_text() -> None:
    spanish = i18n.js_catalogue("es")
    assert spanish["Live"] == "Conectado"  # workspace.js
    assert spanish["{seconds}s left"] == "quedan {seconds} s"  # workspace/offers.js
    assert "Skip to the conversation" not in spanish  # template only
    assert i18n.js_catalogue("en") == {}  # English is the source text


def test_script_json_cannot_close_its_script_element() -> None:
    text = i18n.script_json({"a": "</script><script>alert(1)</script>", "b": "x & y"})
    assert not {"<", ">", "&"} & set(text)
    assert "\\u003c/script\\u003e" in text


def test_templates_take_their_language_from_the_render_context() -> None:
    env = Environment(
        loader=DictLoader(
            {"t.html": "{{ _('Hello, %(name)s', name=who) }}|{% trans %}Presence{% endtrans %}"}
        ),
        autoescape=True,
    )
    i18n.install(env)
    template = env.get_template("t.html")
    spanish = template.render(translations=i18n.translations("es"), who="<Ana>")
    english = template.render(who="Ana")
    assert spanish == "Hola, &lt;Ana&gt;|Presencia"  # variables are escaped, text translated
    assert english == "Hello, Ana|Presence"


def _extracted() -> set[str]:
    with (i18n.LOCALE_DIR / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords={**DEFAULT_KEYWORDS, "t": None})
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def test_catalogues_match_the_sources_and_spanish_is_complete() -> None:
    """Fails when text changed without `pybabel extract` + `pybabel update` (docs/WORKSPACE.md)."""
    source = _extracted()
    assert len(source) > 100
    for locale in i18n.SUPPORTED_LOCALES:
        ids = {m.id for m in i18n.catalog(locale) if m.id}
        assert ids == source, (locale, sorted(source - ids), sorted(ids - source))
    for message in i18n.catalog("es"):
        if not message.id:
            continue
        assert message.string, f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"needs review: {message.id!r}"
        assert sorted(PLACEHOLDER.findall(message.string)) == sorted(PLACEHOLDER.findall(str(message.id))), (
            message.id
        )
