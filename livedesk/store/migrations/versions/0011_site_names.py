"""Outlets by name: the name a page or its feed gives its site ("Meridian Wire"), beside the domain.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("site_name", sa.Text))


def downgrade() -> None:
    op.drop_column("articles", "site_name")
