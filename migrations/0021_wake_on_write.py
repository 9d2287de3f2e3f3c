from tortoise import migrations
from tortoise.migrations import operations as ops

# PostgreSQL only: writes that give the worker's loops work send a NOTIFY on the loop's channel when
# their transaction commits (gateway.workers.listener LISTENs on them), so an idle worker need not poll.
# One notification per statement for inserts; a delivery queued again (a replay) or an endpoint enabled
# again notifies too. The channel names are gateway.workers.listener's (tests check that they agree).
# SQLite has no NOTIFY: the embedded default wakes its loops in process, with temporary triggers.
WAKE_ON_WRITE = """
CREATE OR REPLACE FUNCTION milesgate_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], '');
    RETURN NULL;
END
$$;
CREATE TRIGGER milesgate_wake_events AFTER INSERT ON domain_events
    FOR EACH STATEMENT EXECUTE FUNCTION milesgate_wake('milesgate_events');
CREATE TRIGGER milesgate_wake_notifications AFTER INSERT ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION milesgate_wake('milesgate_notifications');
CREATE TRIGGER milesgate_wake_deliveries AFTER INSERT ON outbound_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION milesgate_wake('milesgate_outbound');
CREATE TRIGGER milesgate_wake_deliveries_requeued AFTER UPDATE OF state, next_attempt_at ON outbound_deliveries
    FOR EACH ROW WHEN (NEW.state = 'pending' AND NEW.next_attempt_at <= clock_timestamp() + interval '1 second')
    EXECUTE FUNCTION milesgate_wake('milesgate_outbound');
CREATE TRIGGER milesgate_wake_endpoints AFTER UPDATE OF state ON partner_endpoints
    FOR EACH ROW WHEN (NEW.state = 'enabled' AND OLD.state <> 'enabled')
    EXECUTE FUNCTION milesgate_wake('milesgate_outbound');
"""
UNDO = """
DROP TRIGGER IF EXISTS milesgate_wake_endpoints ON partner_endpoints;
DROP TRIGGER IF EXISTS milesgate_wake_deliveries_requeued ON outbound_deliveries;
DROP TRIGGER IF EXISTS milesgate_wake_deliveries ON outbound_deliveries;
DROP TRIGGER IF EXISTS milesgate_wake_notifications ON notifications;
DROP TRIGGER IF EXISTS milesgate_wake_events ON domain_events;
DROP FUNCTION IF EXISTS milesgate_wake();
"""


class PostgresOnlySQL(ops.RunSQL):
    """Raw SQL that runs on PostgreSQL and is skipped on every other database."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor is not None and state_editor.DIALECT == "postgres":
            await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor is not None and state_editor.DIALECT == "postgres":
            await super().database_backward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [("milesgate", "0020_session_generation_completed_challenges")]

    initial = False

    operations = [
        PostgresOnlySQL(WAKE_ON_WRITE, reverse_sql=UNDO),
    ]
