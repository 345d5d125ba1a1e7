"""Knowledge articles and the rules for writing, publishing and reading them. Pure."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from omniroute.core.errors import Conflict, Forbidden, InvalidInput


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Visibility(StrEnum):
    """Who may be shown the article: agents only, or customers too (a shareable link, bots)."""

    INTERNAL = "internal"
    PUBLIC = "public"


LANGUAGES = ("en", "es")
MAX_TITLE = 200
MAX_SUMMARY = 500
MAX_BODY = 100_000  # characters of Markdown; a knowledge article, not a manual
MAX_TAGS = 20
MAX_TAG = 40
MAX_SLUG = 80
PUBLIC_PREFIX = "/kb/"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w-]+$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Content:
    """What an author writes. Every field is validated and normalised by ``check_content``."""

    title: str
    body: str
    summary: str = ""
    language: str = "en"
    tags: tuple[str, ...] = ()
    visibility: Visibility = Visibility.INTERNAL


@dataclass(frozen=True)
class Article:
    id: str
    slug: str
    content: Content
    status: ArticleStatus
    version: int
    author_id: str | None
    updated_by: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    archived_at: datetime | None = None

    @property
    def title(self) -> str:
        return self.content.title

    @property
    def language(self) -> str:
        return self.content.language

    @property
    def public_path(self) -> str:
        """Stable: the slug never changes after creation, so links sent to customers keep working."""
        return f"{PUBLIC_PREFIX}{self.slug}"

    @property
    def is_public(self) -> bool:
        """Whether customers may open it (its link page) and bots may quote it."""
        return self.status is ArticleStatus.PUBLISHED and self.content.visibility is Visibility.PUBLIC


def fold(text: str) -> str:
    """Lower case without accents: how people type when searching ("contrasena", "informacion")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def slugify(title: str) -> str:
    slug = _NOT_SLUG.sub("-", fold(title)).strip("-")
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0] or slug[:MAX_SLUG]
    return slug.strip("-") or "article"


def check_slug(slug: str) -> str:
    if len(slug) > MAX_SLUG or not _SLUG.match(slug):
        msg = f"slug must be lower-case letters, digits and single hyphens, at most {MAX_SLUG} characters"
        raise InvalidInput(msg)
    return slug


def slug_candidates(base: str, taken: Iterable[str]) -> str:
    """``base``, else ``base-2``, ``base-3``… whichever is free."""
    used = set(taken)
    if base not in used:
        return base
    n = 2
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for raw in tags:
        tag = "-".join(raw.strip().lower().split())
        if not tag:
            continue
        if len(tag) > MAX_TAG or not _TAG.match(tag):
            msg = f"tag {raw!r}: letters, digits and hyphens, at most {MAX_TAG} characters"
            raise InvalidInput(msg)
        seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        msg = f"at most {MAX_TAGS} tags"
        raise InvalidInput(msg)
    return tuple(seen)


def check_content(content: Content) -> Content:
    title = " ".join(content.title.split())
    if not title:
        raise InvalidInput("title must not be empty")
    if len(title) > MAX_TITLE:
        msg = f"title has more than {MAX_TITLE} characters"
        raise InvalidInput(msg)
    if not content.body.strip():
        raise InvalidInput("body must not be empty")
    if len(content.body) > MAX_BODY:
        msg = f"body has more than {MAX_BODY} characters"
        raise InvalidInput(msg)
    summary = " ".join(content.summary.split())
    if len(summary) > MAX_SUMMARY:
        msg = f"summary has more than {MAX_SUMMARY} characters"
        raise InvalidInput(msg)
    if content.language not in LANGUAGES:
        msg = f"language must be one of {list(LANGUAGES)}"
        raise InvalidInput(msg)
    return Content(
        title=title,
        body=content.body.replace("\r\n", "\n"),
        summary=summary,
        language=content.language,
        tags=normalise_tags(content.tags),
        visibility=Visibility(content.visibility),
    )


def new_article(
    article_id: str, slug: str, content: Content, author_id: str | None, now: datetime
) -> Article:
    return Article(
        id=article_id,
        slug=check_slug(slug),
        content=check_content(content),
        status=ArticleStatus.DRAFT,
        version=1,
        author_id=author_id,
        updated_by=author_id,
        created_at=now,
        updated_at=now,
    )


def check_version(article: Article, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != article.version:
        msg = (
            f"article {article.id} changed meanwhile (now version {article.version}, "
            f"you edited {expected_version}); reload and retry"
        )
        raise Conflict(msg)


def edit(article: Article, content: Content, expected_version: int, by: str | None, now: datetime) -> Article:
    """The edited article, or the same one when nothing changed (no new version for a no-op save)."""
    check_version(article, expected_version)
    checked = check_content(content)
    if checked == article.content:
        return article
    return replace(article, content=checked, version=article.version + 1, updated_by=by, updated_at=now)


def publish(article: Article, expected_version: int | None, by: str | None, now: datetime) -> Article:
    """Publishing is idempotent: a retried publish of a published article changes nothing."""
    if article.status is ArticleStatus.PUBLISHED:
        return article
    check_version(article, expected_version)
    return replace(
        article,
        status=ArticleStatus.PUBLISHED,
        version=article.version + 1,
        updated_by=by,
        updated_at=now,
        published_at=now,
        archived_at=None,
    )


def archive(article: Article, expected_version: int | None, by: str | None, now: datetime) -> Article:
    """Archived articles leave search for agents and bots; publishing brings one back."""
    if article.status is ArticleStatus.ARCHIVED:
        return article
    check_version(article, expected_version)
    return replace(
        article,
        status=ArticleStatus.ARCHIVED,
        version=article.version + 1,
        updated_by=by,
        updated_at=now,
        archived_at=now,
    )


def readable_statuses(is_author: bool, requested: ArticleStatus | None) -> tuple[ArticleStatus, ...]:
    """Which statuses a reader may list or search.

    Agents read published articles only; authors (supervisors, admins) see drafts too, and archived
    articles when they ask for them.
    """
    if not is_author:
        if requested not in (None, ArticleStatus.PUBLISHED):
            raise Forbidden("only supervisors and admins see drafts and archived articles")
        return (ArticleStatus.PUBLISHED,)
    if requested is None:
        return (ArticleStatus.DRAFT, ArticleStatus.PUBLISHED)
    return (requested,)


def can_read(article: Article, is_author: bool) -> bool:
    return is_author or article.status is ArticleStatus.PUBLISHED
