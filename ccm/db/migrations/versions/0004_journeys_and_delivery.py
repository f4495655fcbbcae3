"""journeys and delivery

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('locale', sa.String(length=20), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('postal_address', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('preferred_channel', sa.String(length=10), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    op.create_table('instance_secrets',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_instance_secrets'))
    )
    op.create_table('journeys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journeys')),
    sa.UniqueConstraint('key', name=op.f('uq_journeys_key'))
    )
    op.create_table('consent_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_consent_changes_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_changes'))
    )
    with op.batch_alter_table('consent_changes', schema=None) as batch_op:
        batch_op.create_index('ix_consent_changes_customer', ['customer_id', 'changed_at', 'id'], unique=False)

    op.create_table('consents',
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_consents_customer_id_customers')),
    sa.PrimaryKeyConstraint('customer_id', 'channel', 'purpose', name=op.f('pk_consents'))
    )
    op.create_table('customer_journeys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('journey_key', sa.String(length=100), nullable=False),
    sa.Column('journey_version', sa.Integer(), nullable=False),
    sa.Column('stage_key', sa.String(length=100), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('active', 'completed', 'exited', name='journeystatus', native_enum=False, length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_journeys_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_journeys')),
    sa.UniqueConstraint('customer_id', 'journey_key', name=op.f('uq_customer_journeys_customer_id'))
    )
    with op.batch_alter_table('customer_journeys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_journeys_journey_key'), ['journey_key'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_events_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_events_event_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_customer_time', ['customer_id', 'occurred_at', 'id'], unique=False)

    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('journey_key', sa.String(length=100), nullable=False),
    sa.Column('journey_version', sa.Integer(), nullable=False),
    sa.Column('stage_key', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('scheduled_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unless', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('action', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_event_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.Enum('pending', 'fired', 'cancelled', name='followupstatus', native_enum=False, length=20), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_follow_ups_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups'))
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_customer', ['customer_id', 'status'], unique=False)
        batch_op.create_index('ix_follow_ups_due', ['status', 'due_at'], unique=False)

    op.create_table('journey_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'retired', name='versionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_versions_journey_id_journeys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_versions')),
    sa.UniqueConstraint('journey_id', 'version', name=op.f('uq_journey_versions_journey_id'))
    )
    with op.batch_alter_table('journey_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journey_versions_journey_id'), ['journey_id'], unique=False)

    op.create_table('stage_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('journey_key', sa.String(length=100), nullable=False),
    sa.Column('journey_version', sa.Integer(), nullable=False),
    sa.Column('from_stage', sa.String(length=100), nullable=True),
    sa.Column('to_stage', sa.String(length=100), nullable=True),
    sa.Column('outcome', sa.Enum('entered', 'goal_reached', 'exited', name='transitionoutcome', native_enum=False, length=20), nullable=False),
    sa.Column('trigger', sa.String(length=250), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded', sa.Boolean(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_stage_transitions_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_transitions'))
    )
    with op.batch_alter_table('stage_transitions', schema=None) as batch_op:
        batch_op.create_index('ix_stage_transitions_customer', ['customer_id', 'journey_key', 'occurred_at', 'id'], unique=False)

    op.create_table('sends',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('dedup_key', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('journey_key', sa.String(length=100), nullable=False),
    sa.Column('journey_version', sa.Integer(), nullable=False),
    sa.Column('stage_key', sa.String(length=100), nullable=False),
    sa.Column('template_key', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('status', sa.Enum('queued', 'sending', 'sent', 'delivered', 'bounced', 'failed', 'suppressed', name='sendstatus', native_enum=False, length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decision', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('locale', sa.String(length=20), nullable=True),
    sa.Column('trigger', sa.String(length=250), nullable=False),
    sa.Column('trigger_event_id', sa.String(length=200), nullable=True),
    sa.Column('follow_up_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_token', sa.String(length=36), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('communication_id', sa.String(length=36), nullable=True),
    sa.Column('provider', sa.String(length=50), nullable=True),
    sa.Column('provider_message_id', sa.String(length=300), nullable=True),
    sa.Column('links', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['communication_id'], ['communications.id'], name=op.f('fk_sends_communication_id_communications')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sends_customer_id_customers')),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_ups.id'], name=op.f('fk_sends_follow_up_id_follow_ups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sends')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_sends_dedup_key'))
    )
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.create_index('ix_sends_customer', ['customer_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_sends_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sends_provider_message_id'), ['provider_message_id'], unique=False)

    op.create_table('send_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('send_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['send_id'], ['sends.id'], name=op.f('fk_send_events_send_id_sends')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_send_events'))
    )
    with op.batch_alter_table('send_events', schema=None) as batch_op:
        batch_op.create_index('ix_send_events_send', ['send_id', 'id'], unique=False)

    with op.batch_alter_table('communications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('trigger_event_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('parts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.create_index('uq_communications_send_id', ['send_id'], unique=True)

    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_attach_pdf', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.drop_column('email_attach_pdf')

    with op.batch_alter_table('communications', schema=None) as batch_op:
        batch_op.drop_index('uq_communications_send_id')
        batch_op.drop_column('parts')
        batch_op.drop_column('trigger_event_id')
        batch_op.drop_column('send_id')

    with op.batch_alter_table('send_events', schema=None) as batch_op:
        batch_op.drop_index('ix_send_events_send')

    op.drop_table('send_events')
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sends_provider_message_id'))
        batch_op.drop_index('ix_sends_due')
        batch_op.drop_index('ix_sends_customer')

    op.drop_table('sends')
    with op.batch_alter_table('stage_transitions', schema=None) as batch_op:
        batch_op.drop_index('ix_stage_transitions_customer')

    op.drop_table('stage_transitions')
    with op.batch_alter_table('journey_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journey_versions_journey_id'))

    op.drop_table('journey_versions')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_ups_due')
        batch_op.drop_index('ix_follow_ups_customer')

    op.drop_table('follow_ups')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_customer_time')

    op.drop_table('events')
    with op.batch_alter_table('customer_journeys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_journeys_journey_key'))

    op.drop_table('customer_journeys')
    op.drop_table('consents')
    with op.batch_alter_table('consent_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_changes_customer')

    op.drop_table('consent_changes')
    op.drop_table('journeys')
    op.drop_table('instance_secrets')
    op.drop_table('customers')
