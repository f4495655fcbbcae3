"""initial registry

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assets',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_assets'))
    )
    op.create_table('blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('layout', 'block', name='blockkind', native_enum=False, length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocks')),
    sa.UniqueConstraint('key', name=op.f('uq_blocks_key'))
    )
    op.create_table('brands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brands')),
    sa.UniqueConstraint('key', name=op.f('uq_brands_key'))
    )
    op.create_table('kind_profiles',
    sa.Column('kind', sa.Enum('bill', 'letter', 'promotion', 'notice', name='templatekind', native_enum=False, length=20), nullable=False),
    sa.Column('pdf_variant', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_kind_profiles'))
    )
    op.create_table('block_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('block_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'retired', name='versionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['block_id'], ['blocks.id'], name=op.f('fk_block_versions_block_id_blocks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_block_versions')),
    sa.UniqueConstraint('block_id', 'version', name=op.f('uq_block_versions_block_id'))
    )
    with op.batch_alter_table('block_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_block_versions_block_id'), ['block_id'], unique=False)

    op.create_table('brand_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'retired', name='versionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('tokens', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_brand_versions_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brand_versions')),
    sa.UniqueConstraint('brand_id', 'version', name=op.f('uq_brand_versions_brand_id'))
    )
    with op.batch_alter_table('brand_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_brand_versions_brand_id'), ['brand_id'], unique=False)

    op.create_table('templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('bill', 'letter', 'promotion', 'notice', name='templatekind', native_enum=False, length=20), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_templates_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_templates')),
    sa.UniqueConstraint('key', name=op.f('uq_templates_key'))
    )
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_templates_brand_id'), ['brand_id'], unique=False)

    op.create_table('template_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'retired', name='versionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('journey_key', sa.String(length=100), nullable=False),
    sa.Column('stage_key', sa.String(length=100), nullable=False),
    sa.Column('default_locale', sa.String(length=20), nullable=False),
    sa.Column('bodies', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('data_schema', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sample_data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('translations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sms_max_segments', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name=op.f('fk_template_versions_template_id_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_template_versions')),
    sa.UniqueConstraint('template_id', 'version', name=op.f('uq_template_versions_template_id'))
    )
    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_template_versions_template_id'), ['template_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_template_versions_template_id'))

    op.drop_table('template_versions')
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_templates_brand_id'))

    op.drop_table('templates')
    with op.batch_alter_table('brand_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_brand_versions_brand_id'))

    op.drop_table('brand_versions')
    with op.batch_alter_table('block_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_block_versions_block_id'))

    op.drop_table('block_versions')
    op.drop_table('kind_profiles')
    op.drop_table('brands')
    op.drop_table('blocks')
    op.drop_table('assets')
