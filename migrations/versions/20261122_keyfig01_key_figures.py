"""key figures

Revision ID: keyfig01
Revises: 8bf2532c222a
Create Date: 2026-11-22 09:00:03.930064
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = 'keyfig01'
down_revision = '8bf2532c222a'
branch_labels = None
depends_on = None

_METRICS = ('henlaeggelser_pr_bolig', 'husleje_pr_m2', 'fraflytning', 'tomgang', 'ledige_lejligheder', 'restancer',
            'driftsudgifter_pr_m2', 'egenkapital', 'arbejdskapital', 'dispositionsfond', 'effektivitetstal')


def upgrade() -> None:
    op.create_table('key_figure_thresholds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.Enum(*_METRICS, name='metric', native_enum=False, length=40), nullable=False),
    sa.Column('direction', sa.Enum('above', 'below', name='thresholddirection', native_enum=False, length=10), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('updated_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['municipality_id'], ['parties.id'], name=op.f('fk_key_figure_thresholds_municipality_id_parties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_key_figure_thresholds_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_figure_thresholds')),
    sa.UniqueConstraint('municipality_id', 'metric', name=op.f('uq_key_figure_thresholds_municipality_id'))
    )
    op.create_table('department_area_statuses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('udsat_boligomraade', 'parallelsamfund', 'omdannelsesomraade', 'forebyggelsesomraade', name='areastatus', native_enum=False, length=30), nullable=False),
    sa.Column('set_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_department_area_statuses_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_department_area_statuses_set_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department_area_statuses')),
    sa.UniqueConstraint('department_id', 'year', name=op.f('uq_department_area_statuses_department_id'))
    )
    op.create_table('key_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('metric', sa.Enum(*_METRICS, name='metric', native_enum=False, length=40), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('created_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_key_figures_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_key_figures_imported_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_key_figures_party_id_parties'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_figures')),
    sa.UniqueConstraint('party_id', 'department_id', 'year', 'metric', name=op.f('uq_key_figures_party_id'))
    )
    with op.batch_alter_table('key_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_figures_department_id'), ['department_id'], unique=False)
        # NULLs are distinct in the unique constraint above, so organisation-level figures get their own.
        batch_op.create_index('uq_key_figures_organisation_level', ['party_id', 'year', 'metric'], unique=True,
                              sqlite_where=sa.text('department_id IS NULL'),
                              postgresql_where=sa.text('department_id IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('key_figures', schema=None) as batch_op:
        batch_op.drop_index('uq_key_figures_organisation_level', sqlite_where=sa.text('department_id IS NULL'),
                            postgresql_where=sa.text('department_id IS NULL'))
        batch_op.drop_index(batch_op.f('ix_key_figures_department_id'))

    op.drop_table('key_figures')
    op.drop_table('department_area_statuses')
    op.drop_table('key_figure_thresholds')
