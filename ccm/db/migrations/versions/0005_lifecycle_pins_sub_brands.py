"""template lifecycle, pinned blocks, sub-brands

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('template_version_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_version_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['template_version_id'], ['template_versions.id'], name=op.f('fk_template_version_actions_template_version_id_template_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_template_version_actions'))
    )
    with op.batch_alter_table('template_version_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_template_version_actions_template_version_id'), ['template_version_id'], unique=False)

    with op.batch_alter_table('block_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sa.String(length=100), nullable=True))

    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('brand_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overrides', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('parent_version_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('published_by', sa.String(length=100), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_brand_versions_parent_version_id_brand_versions'), 'brand_versions', ['parent_version_id'], ['id'])

    with op.batch_alter_table('brands', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_brands_parent_id'), ['parent_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_brands_parent_id_brands'), 'brands', ['parent_id'], ['id'])

    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('block_pins', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    _pin_published_versions()


def _pin_published_versions() -> None:
    """Versions published before pinning rendered with the live blocks: pin them to the
    blocks live now, so they keep rendering as they did."""
    connection = op.get_bind()
    blocks = sa.table('blocks', sa.column('id'), sa.column('key'), sa.column('kind'))
    block_versions = sa.table('block_versions', sa.column('block_id'), sa.column('version'),
                              sa.column('status'))
    rows = connection.execute(
        sa.select(blocks.c.kind, blocks.c.key, sa.func.max(block_versions.c.version))
        .join(block_versions, block_versions.c.block_id == blocks.c.id)
        .where(block_versions.c.status == 'published')
        .group_by(blocks.c.kind, blocks.c.key)
    )
    pins = {f"{kind}/{key}": version for kind, key, version in rows}
    template_versions = sa.table(
        'template_versions', sa.column('status'),
        sa.column('block_pins', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')))
    connection.execute(
        template_versions.update()
        .where(template_versions.c.status.in_(['published', 'retired']))
        .values(block_pins=pins)
    )



def downgrade() -> None:
    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.drop_column('block_pins')
        batch_op.drop_column('created_by')

    with op.batch_alter_table('brands', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_brands_parent_id_brands'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_brands_parent_id'))
        batch_op.drop_column('parent_id')

    with op.batch_alter_table('brand_versions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_brand_versions_parent_version_id_brand_versions'), type_='foreignkey')
        batch_op.drop_column('published_by')
        batch_op.drop_column('created_by')
        batch_op.drop_column('parent_version_id')
        batch_op.drop_column('overrides')

    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')

    with op.batch_alter_table('block_versions', schema=None) as batch_op:
        batch_op.drop_column('created_by')

    with op.batch_alter_table('template_version_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_template_version_actions_template_version_id'))

    op.drop_table('template_version_actions')
