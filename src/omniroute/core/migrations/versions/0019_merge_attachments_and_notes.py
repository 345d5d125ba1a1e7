"""merge the attachments (0016) and customer notes / reply context (0018) branches

Revision ID: 0019
Revises: 0016, 0018
Create Date: 2026-11-25
"""

from __future__ import annotations

revision = "0019"
down_revision = ("0016", "0018")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: this revision only joins the branches into one head."""


def downgrade() -> None:
    """Nothing to change: downgrading splits back into the branches."""
