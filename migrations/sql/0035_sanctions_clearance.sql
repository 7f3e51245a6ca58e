-- Issue 18, item 3: a possible sanctions match blocks KYC approval until a compliance
-- officer clears it, saying why (who and when are kept on the case); while it is open the
-- subject's wallet is frozen as that case's freeze, which clearing lifts; and names added
-- to the list are screened against every verified person (docs/security.md, "AML").

ALTER TABLE aml_case
    ADD COLUMN cleared_by bigint REFERENCES app_user (id),
    ADD COLUMN cleared_at timestamptz,
    ADD CONSTRAINT aml_case_clearance CHECK (
        (cleared_by IS NULL) = (cleared_at IS NULL)
        AND (cleared_at IS NULL OR (detector = 'sanctions' AND status = 'closed'))
    );
-- The KYC review shows each person's cases.
CREATE INDEX aml_case_user ON aml_case (user_id, created_at);

-- A clearance is a compliance decision on the record: once made, who cleared the match,
-- when and why (closed_reason) do not change. The app may update the table, so the
-- database keeps this itself.
CREATE FUNCTION aml_case_keep_clearance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.cleared_at IS NOT NULL
       AND (OLD.status, OLD.closed_reason, OLD.cleared_by, OLD.cleared_at, OLD.user_id,
            OLD.detector, OLD.evidence)
           IS DISTINCT FROM
           (NEW.status, NEW.closed_reason, NEW.cleared_by, NEW.cleared_at, NEW.user_id,
            NEW.detector, NEW.evidence) THEN
        RAISE EXCEPTION 'a cleared sanctions match cannot be changed (case %)', OLD.id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER aml_case_keep_clearance BEFORE UPDATE ON aml_case
    FOR EACH ROW EXECUTE FUNCTION aml_case_keep_clearance();

-- Which sanctions case froze the wallet (NULL: an operator did, or it is not frozen).
-- Clearing that case lifts only its own freeze, never an operator's.
ALTER TABLE wallet ADD COLUMN frozen_by_case bigint REFERENCES aml_case (id);

-- When a name joined the list: the monitor screens everyone again after a change.
ALTER TABLE sanctions_entry ADD COLUMN added_at timestamptz NOT NULL DEFAULT now();
