"""registry revision

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('registry_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_revision'))
    )
    op.bulk_insert(table, [{'id': 1, 'revision': 'initial'}])


def downgrade() -> None:
    op.drop_table('registry_revision')
