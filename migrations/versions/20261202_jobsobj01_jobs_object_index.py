"""Index jobs by kind and object, for finding a waiting job of the same object

Revision ID: jobsobj01
Revises: dialog01
Create Date: 2026-12-02
"""
from alembic import op

revision = 'jobsobj01'
down_revision = 'dialog01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_kind_object_id', ['kind', 'object_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_kind_object_id')
