"""API tokens get a prefix and an expiry; invitations of existing accounts to a party

Revision ID: accusers01
Revises: jobsobj01
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = 'accusers01'
down_revision = 'jobsobj01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prefix', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('expires_at', portal.models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('prefix', server_default=None)

    op.create_table('membership_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('reader', 'editor', 'signatory', 'admin', name='role', native_enum=False, length=20),
              nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', portal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_membership_invitations_invited_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_membership_invitations_party_id_parties'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_membership_invitations_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_invitations'))
    )
    with op.batch_alter_table('membership_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_invitations_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_invitations_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('membership_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_invitations_user_id'))
        batch_op.drop_index(batch_op.f('ix_membership_invitations_party_id'))
    op.drop_table('membership_invitations')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('prefix')
