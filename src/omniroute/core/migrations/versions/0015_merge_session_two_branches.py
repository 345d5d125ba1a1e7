"""merge the branches that grew from 0006 (knowledge, cases, voice, bots, widget, notes, customers, desk)

Revision ID: 0015
Revises: 0007, 0008, 0009, 0010, 0011, 0012, 0013, 0014
Create Date: 2026-11-25
"""

from __future__ import annotations

revision = "0015"
down_revision = ("0007", "0008", "0009", "0010", "0011", "0012", "0013", "0014")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: this revision only joins the branches into one head."""


def downgrade() -> None:
    """Nothing to change: downgrading splits back into the branches."""
