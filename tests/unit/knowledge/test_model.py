"""Article rules: validation, slugs, versions and status transitions, who reads what."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from omniroute.core.errors import Conflict, Forbidden, InvalidInput
from omniroute.knowledge import model
from omniroute.knowledge.model import ArticleStatus, Content, Visibility

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def draft(**changes: object) -> model.Article:
    content = Content("Reset your password", "Use the **link**.", language="en")
    article = model.new_article("a1", "reset-your-password", content, "sam", T0)
    return replace(article, **changes)  # type: ignore[arg-type]


def test_a_new_article_is_a_version_1_draft_with_a_public_path() -> None:
    article = draft()
    assert (article.status, article.version) == (ArticleStatus.DRAFT, 1)
    assert article.public_path == "/kb/reset-your-password"
    assert not article.is_public


def test_content_is_normalised() -> None:
    checked = model.check_content(
        Content("  Lost   card ", "x\r\ny", "  short\n summary ", "es", ("Cards", " lost card ", "cards"))
    )
    assert checked.title == "Lost card"
    assert checked.body == "x\ny"
    assert checked.summary == "short summary"
    assert checked.tags == ("cards", "lost-card")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (Content(" ", "body"), "title must not be empty"),
        (Content("t" * 201, "body"), "title has more than 200"),
        (Content("t", "  \n"), "body must not be empty"),
        (Content("t", "b" * 100_001), "body has more than"),
        (Content("t", "b", summary="s" * 501), "summary has more than"),
        (Content("t", "b", language="fr"), "language must be one of"),
        (Content("t", "b", tags=("no/slash",)), "tag 'no/slash'"),
        (Content("t", "b", tags=tuple(f"t{i}" for i in range(21))), "at most 20 tags"),
    ],
)
def test_bad_content_is_refused_with_a_reason(content: Content, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        model.check_content(content)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Reset your password", "reset-your-password"),
        ("¿Cómo restablecer la contraseña?", "como-restablecer-la-contrasena"),
        ("Límites: 10.000 € / día", "limites-10-000-dia"),
        ("!!!", "article"),
        ("word " * 40, ("word-" * 16).rstrip("-")),
    ],
)
def test_slugs_are_ascii_and_short(title: str, slug: str) -> None:
    assert model.slugify(title) == slug
    assert model.check_slug(model.slugify(title)) == slug


def test_a_taken_slug_gets_the_next_free_number() -> None:
    assert model.slug_candidates("faq", []) == "faq"
    assert model.slug_candidates("faq", ["faq", "faq-2", "faq-4"]) == "faq-3"


@pytest.mark.parametrize("slug", ["Upper", "two--hyphens", "-edge", "spa ce", "ñ", "x" * 81])
def test_bad_slugs_are_refused(slug: str) -> None:
    with pytest.raises(InvalidInput):
        model.check_slug(slug)


def test_an_edit_needs_the_current_version_and_makes_the_next() -> None:
    article = draft()
    edited = model.edit(article, replace(article.content, body="New body"), 1, "ada", T1)
    assert (edited.version, edited.updated_by, edited.updated_at) == (2, "ada", T1)
    with pytest.raises(Conflict, match="now version 2, you edited 1"):
        model.edit(edited, replace(edited.content, body="Other"), 1, "sam", T1)


def test_saving_unchanged_content_is_not_a_new_version() -> None:
    article = draft()
    assert model.edit(article, article.content, 1, "ada", T1) is article


def test_publish_and_archive_move_the_version_and_are_idempotent() -> None:
    published = model.publish(draft(), 1, "sam", T1)
    assert (published.status, published.version, published.published_at) == (ArticleStatus.PUBLISHED, 2, T1)
    assert model.publish(published, 1, "sam", T1) is published  # a retried publish changes nothing
    archived = model.archive(published, 2, "sam", T1)
    assert (archived.status, archived.version, archived.archived_at) == (ArticleStatus.ARCHIVED, 3, T1)
    assert model.archive(archived, None, "sam", T1) is archived
    again = model.publish(archived, None, "sam", T1)
    assert (again.status, again.archived_at) == (ArticleStatus.PUBLISHED, None)
    with pytest.raises(Conflict):
        model.archive(again, 2, "sam", T1)


def test_only_published_public_articles_are_public() -> None:
    public = draft(content=replace(draft().content, visibility=Visibility.PUBLIC))
    assert not public.is_public
    assert model.publish(public, None, "sam", T1).is_public
    assert not model.publish(draft(), None, "sam", T1).is_public  # internal


def test_agents_read_published_only_and_authors_everything() -> None:
    assert model.readable_statuses(False, None) == (ArticleStatus.PUBLISHED,)
    assert model.readable_statuses(False, ArticleStatus.PUBLISHED) == (ArticleStatus.PUBLISHED,)
    with pytest.raises(Forbidden):
        model.readable_statuses(False, ArticleStatus.DRAFT)
    assert model.readable_statuses(True, None) == (ArticleStatus.DRAFT, ArticleStatus.PUBLISHED)
    assert model.readable_statuses(True, ArticleStatus.ARCHIVED) == (ArticleStatus.ARCHIVED,)
    assert not model.can_read(draft(), is_author=False)
    assert model.can_read(draft(), is_author=True)


def test_fold_removes_case_and_accents() -> None:
    assert model.fold("Contraseña ÁRBOL Über") == "contrasena arbol uber"
