"""Agreement parties consent: a named organisation is pending until it accepts

Revision ID: accagr01
Revises: accusers01
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = 'accagr01'
down_revision = 'accusers01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every party of an existing agreement was named before consent existed and has taken part
    # since (approved, been given obligations): it counts as having accepted.
    with op.batch_alter_table('agreement_parties', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent', sa.Enum('pending', 'accepted', 'declined', name='partyconsent',
                                                         native_enum=False, length=20),
                                      nullable=False, server_default='accepted'))
        batch_op.add_column(sa.Column('invited_by_party_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('invited_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', portal.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_agreement_parties_invited_by_party_id_parties'), 'parties',
                                    ['invited_by_party_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_agreement_parties_invited_by_id_users'), 'users',
                                    ['invited_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_agreement_parties_decided_by_id_users'), 'users',
                                    ['decided_by_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('agreement_parties', schema=None) as batch_op:
        batch_op.alter_column('consent', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('agreement_parties', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_agreement_parties_decided_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_agreement_parties_invited_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_agreement_parties_invited_by_party_id_parties'), type_='foreignkey')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('invited_by_id')
        batch_op.drop_column('invited_by_party_id')
        batch_op.drop_column('consent')
