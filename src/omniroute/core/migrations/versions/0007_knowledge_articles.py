"""knowledge articles and their full-text index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

The index is dialect-specific and therefore not on the SQLAlchemy metadata (autogenerate would
propose dropping it: keep it out of a generated migration):

- SQLite: an FTS5 table ``knowledge_articles_fts`` (tokenizer: Porter over unicode61 with
  diacritics removed), one row per article at a fixed rowid (``knowledge.fts_sqlite.fts_rowid``).
- PostgreSQL: a ``search_vector`` tsvector column with a GIN index, and three text search
  configurations that remove accents before stemming (``unaccent`` is a trusted extension from
  PostgreSQL 13, so the database owner may create it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from omniroute.core.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS_CONFIGS = (
    ("omniroute_english", "english", "english_stem"),
    ("omniroute_spanish", "spanish", "spanish_stem"),
    ("omniroute_simple", "simple", "simple"),
)


def upgrade() -> None:
    op.create_table(
        "knowledge_articles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("archived_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_knowledge_articles_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_knowledge_articles_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_knowledge_articles_slug")),
    )
    op.create_index(op.f("ix_knowledge_articles_status"), "knowledge_articles", ["status"], unique=False)
    op.create_index(
        op.f("ix_knowledge_articles_updated_at"), "knowledge_articles", ["updated_at"], unique=False
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        for name, parent, stemmer in TS_CONFIGS:
            op.execute(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = {parent})")
            op.execute(
                f"ALTER TEXT SEARCH CONFIGURATION {name} "
                f"ALTER MAPPING FOR hword, hword_part, word WITH unaccent, {stemmer}"
            )
        op.execute("ALTER TABLE knowledge_articles ADD COLUMN search_vector tsvector")
        op.execute(
            "CREATE INDEX ix_knowledge_articles_search_vector ON knowledge_articles USING gin (search_vector)"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE knowledge_articles_fts USING fts5("
            "article_id UNINDEXED, title, summary, tags, body, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_knowledge_articles_search_vector")
        for name, _, _ in TS_CONFIGS:
            op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")
        # unaccent stays: other schemas may have come to rely on it.
    else:
        op.execute("DROP TABLE IF EXISTS knowledge_articles_fts")
    op.drop_index(op.f("ix_knowledge_articles_updated_at"), table_name="knowledge_articles")
    op.drop_index(op.f("ix_knowledge_articles_status"), table_name="knowledge_articles")
    op.drop_table("knowledge_articles")
