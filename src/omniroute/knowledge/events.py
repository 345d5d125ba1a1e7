"""Knowledge events. They carry the version, not the body: listeners (the bots' passage cache, audit)
reload the article when they need its text."""

from __future__ import annotations

from typing import Literal

from omniroute.core.events import DomainEvent


class ArticleCreated(DomainEvent):
    type: Literal["knowledge.article_created"] = "knowledge.article_created"
    article_id: str
    slug: str
    title: str
    language: str
    visibility: str
    version: int
    actor_id: str | None


class ArticleUpdated(DomainEvent):
    type: Literal["knowledge.article_updated"] = "knowledge.article_updated"
    article_id: str
    title: str
    status: str
    version: int
    changed: list[str]
    """Which fields changed: title, body, summary, language, tags, visibility."""
    actor_id: str | None


class ArticlePublished(DomainEvent):
    type: Literal["knowledge.article_published"] = "knowledge.article_published"
    article_id: str
    slug: str
    title: str
    language: str
    visibility: str
    version: int
    actor_id: str | None


class ArticleArchived(DomainEvent):
    type: Literal["knowledge.article_archived"] = "knowledge.article_archived"
    article_id: str
    version: int
    actor_id: str | None
