-- Issue 14, finding 5: append-only history refuses TRUNCATE as well as UPDATE and DELETE.
-- (journal_entry and posting have refused it since 0001.) A TRUNCATE fires no row
-- trigger, so without a statement trigger it emptied these tables silently.
CREATE OR REPLACE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
    END IF;
    IF OLD.seq IS NOT NULL OR NEW.seq IS NULL
       OR (OLD.at, OLD.actor_type, OLD.actor_id, OLD.action, OLD.outcome, OLD.subject,
           OLD.ip, OLD.user_agent, OLD.details)
          IS DISTINCT FROM
          (NEW.at, NEW.actor_type, NEW.actor_id, NEW.action, NEW.outcome, NEW.subject,
           NEW.ip, NEW.user_agent, NEW.details) THEN
        RAISE EXCEPTION 'audit_log rows cannot be changed';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER transaction_transition_no_truncate BEFORE TRUNCATE ON transaction_transition
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER posting_snapshot_no_truncate BEFORE TRUNCATE ON posting_snapshot
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER dispute_event_no_truncate BEFORE TRUNCATE ON dispute_event
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

-- The scrub of rows already written (finding 2) runs after this file, from Python, since
-- it needs the allow-list: wallet.security.audit_scrub.
