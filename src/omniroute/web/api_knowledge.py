"""Knowledge base API: agents search and read published articles and share them into chats;
supervisors and admins write, publish and archive. Plus the public page behind a shared link."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from omniroute.identity.model import Principal, Role, Scope
from omniroute.knowledge import model
from omniroute.knowledge.model import Article, ArticleStatus, Content, Visibility
from omniroute.knowledge.rendering import render_html
from omniroute.knowledge.service import MAX_PAGE, Found, ShareMode
from omniroute.web.pages import static_url
from omniroute.web.schemas import Strict
from omniroute.web.security import ContainerDep, require

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])
public = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(require(Role.AGENT, Scope.CONVERSATIONS_READ))]
Author = Annotated[Principal, Depends(require(Role.SUPERVISOR, Scope.ADMIN))]

Language = Annotated[str, Field(pattern="^(en|es)$", description="en or es")]
Title = Annotated[str, Field(min_length=1, max_length=model.MAX_TITLE)]
Body = Annotated[str, Field(min_length=1, max_length=model.MAX_BODY, description="Markdown")]
Summary = Annotated[str, Field(max_length=model.MAX_SUMMARY)]
Tags = Annotated[list[str], Field(max_length=model.MAX_TAGS)]


def is_author(who: Principal) -> bool:
    return who.user.has_role(Role.SUPERVISOR)


class ArticleIn(Strict):
    title: Title
    body: Body
    summary: Summary = ""
    language: Language = "en"
    tags: Tags = Field(default_factory=list)
    visibility: Visibility = Field(
        default=Visibility.INTERNAL, description="public: customers may open its link and bots may quote it"
    )
    slug: str | None = Field(
        default=None, max_length=model.MAX_SLUG, description="default: made from the title; never changes"
    )


class ArticlePatch(Strict):
    expected_version: int = Field(description="the version you edited; another current version gives 409")
    title: Title | None = None
    body: Body | None = None
    summary: Summary | None = None
    language: Language | None = None
    tags: Tags | None = None
    visibility: Visibility | None = None


class TransitionIn(Strict):
    expected_version: int | None = Field(
        default=None, description="the version you looked at; another current version gives 409"
    )


class ArticleSummaryOut(BaseModel):
    id: str
    slug: str
    title: str
    summary: str
    language: str
    tags: list[str]
    visibility: str
    status: str
    version: int
    public_path: str
    updated_at: datetime
    published_at: datetime | None

    @classmethod
    def fields_of(cls, a: Article) -> dict[str, object]:
        return {
            "id": a.id,
            "slug": a.slug,
            "title": a.title,
            "summary": a.content.summary,
            "language": a.language,
            "tags": list(a.content.tags),
            "visibility": a.content.visibility.value,
            "status": a.status.value,
            "version": a.version,
            "public_path": a.public_path,
            "updated_at": a.updated_at,
            "published_at": a.published_at,
        }


class SearchResultOut(ArticleSummaryOut):
    score: float | None = Field(description="relevance, higher is better; null when listing without q")
    snippet_html: str = Field(description="escaped text; matched words in <mark>")

    @classmethod
    def of(cls, f: Found) -> SearchResultOut:
        return cls.model_validate(
            {**cls.fields_of(f.article), "score": f.score, "snippet_html": f.snippet_html}
        )


class ArticleOut(ArticleSummaryOut):
    body: str = Field(description="Markdown as written")
    html: str = Field(description="rendered and sanitised")
    author_id: str | None
    updated_by: str | None
    created_at: datetime
    archived_at: datetime | None

    @classmethod
    def of(cls, a: Article) -> ArticleOut:
        return cls.model_validate(
            {
                **cls.fields_of(a),
                "body": a.content.body,
                "html": render_html(a.content.body),
                "author_id": a.author_id,
                "updated_by": a.updated_by,
                "created_at": a.created_at,
                "archived_at": a.archived_at,
            }
        )


class PreviewIn(Strict):
    body: Annotated[str, Field(max_length=model.MAX_BODY, description="Markdown")]


class PreviewOut(BaseModel):
    html: str = Field(description="rendered and sanitised exactly as a saved article's html")


class ShareOut(BaseModel):
    text: str = Field(description="post it with POST /api/v1/conversations/{id}/messages")
    url: str | None = Field(description="the public link; null for internal or unpublished articles")


@router.get("/articles", response_model=list[SearchResultOut])
async def search(
    c: ContainerDep,
    who: Reader,
    q: Annotated[str | None, Query(max_length=200, description="search text; omit to browse")] = None,
    language: Annotated[str | None, Query(pattern="^(en|es)$")] = None,
    status: Annotated[ArticleStatus | None, Query(description="drafts and archived: authors only")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[SearchResultOut]:
    """Ranked full-text search (any word, title and tags first), or recent articles without ``q``."""
    found = await c.knowledge.search(
        q, is_author=is_author(who), status=status, language=language, limit=limit, offset=offset
    )
    return [SearchResultOut.of(f) for f in found]


@router.post("/articles", response_model=ArticleOut, status_code=201)
async def create(body: ArticleIn, c: ContainerDep, who: Author) -> ArticleOut:
    content = Content(body.title, body.body, body.summary, body.language, tuple(body.tags), body.visibility)
    return ArticleOut.of(await c.knowledge.create(content, author_id=who.user.id, slug=body.slug))


@router.post("/preview", response_model=PreviewOut)
async def preview(body: PreviewIn, who: Author) -> PreviewOut:
    """Markdown as the article would show it, before it is saved: the authors' preview. Nothing is
    stored; authors only, so it is no general-purpose renderer for anyone signed in."""
    return PreviewOut(html=render_html(body.body))


@router.get("/articles/by-slug/{slug}", response_model=ArticleOut)
async def by_slug(slug: str, c: ContainerDep, who: Reader) -> ArticleOut:
    return ArticleOut.of(await c.knowledge.get_by_slug(slug, is_author=is_author(who)))


@router.get("/articles/{article_id}", response_model=ArticleOut)
async def get(article_id: str, c: ContainerDep, who: Reader) -> ArticleOut:
    return ArticleOut.of(await c.knowledge.get(article_id, is_author=is_author(who)))


@router.patch("/articles/{article_id}", response_model=ArticleOut)
async def update(article_id: str, body: ArticlePatch, c: ContainerDep, who: Author) -> ArticleOut:
    article = await c.knowledge.update(
        article_id,
        expected_version=body.expected_version,
        by=who.user.id,
        title=body.title,
        body=body.body,
        summary=body.summary,
        language=body.language,
        tags=body.tags,
        visibility=body.visibility,
    )
    return ArticleOut.of(article)


@router.post("/articles/{article_id}/publish", response_model=ArticleOut)
async def publish(article_id: str, body: TransitionIn, c: ContainerDep, who: Author) -> ArticleOut:
    return ArticleOut.of(
        await c.knowledge.publish(article_id, expected_version=body.expected_version, by=who.user.id)
    )


@router.post("/articles/{article_id}/archive", response_model=ArticleOut)
async def archive(article_id: str, body: TransitionIn, c: ContainerDep, who: Author) -> ArticleOut:
    return ArticleOut.of(
        await c.knowledge.archive(article_id, expected_version=body.expected_version, by=who.user.id)
    )


@router.get("/articles/{article_id}/share", response_model=ShareOut)
async def share(article_id: str, c: ContainerDep, who: Reader, mode: ShareMode = ShareMode.LINK) -> ShareOut:
    """Text to send into a chat: ``link`` (public articles) or ``excerpt`` (any readable article)."""
    shared = await c.knowledge.share(
        article_id, mode, is_author=is_author(who), base_url=c.settings.effective_public_url
    )
    return ShareOut(text=shared.text, url=shared.url)


PAGE = """<!doctype html>
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="data:,">
  <title>{title}</title>
  <link rel="stylesheet" href="{css}">
</head>
<body class="kb-article">
  <main><article><h1>{title}</h1>
{body}
  </article></main>
</body>
</html>
"""


@public.get("/kb/{slug}", response_class=HTMLResponse)
async def public_page(slug: str, c: ContainerDep) -> HTMLResponse:
    """The page a shared link opens: published public articles only, no sign-in."""
    article = await c.knowledge.public_article(slug)
    page = PAGE.format(
        lang=article.language,
        title=html.escape(article.title),
        css=html.escape(static_url("css/omniroute.css")),
        body=render_html(article.content.body),  # sanitised by render_html
    )
    return HTMLResponse(page)
