"""API keys (stored hashed, with a role) and background jobs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False, unique=True, comment="first characters, to find the key"),
        sa.Column("secret_sha256", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="role"),
        schema="meta",
    )
    op.create_table(
        "job",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="accepted"),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("api_key_id", sa.Integer, sa.ForeignKey("meta.api_key.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("result", JSONB),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("status IN ('accepted', 'running', 'successful', 'failed')", name="status"),
        schema="meta",
    )


def downgrade() -> None:
    op.drop_table("job", schema="meta")
    op.drop_table("api_key", schema="meta")
