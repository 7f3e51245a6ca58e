-- The scheduled ledger checks (issue 16): one row per run, read by operators. A run
-- checks the postings and entries after the last clean run's checkpoint (incremental)
-- or everything (the nightly full run). Rows are a record: never changed or deleted.
CREATE TABLE ledger_check_run (
    id                  bigserial PRIMARY KEY,
    mode                text NOT NULL CHECK (mode IN ('incremental', 'full')),
    -- Postings and entries with ids in (after, through] were checked.
    after_posting_id    bigint NOT NULL CHECK (after_posting_id >= 0),
    through_posting_id  bigint NOT NULL CHECK (through_posting_id >= after_posting_id),
    after_entry_id      bigint NOT NULL CHECK (after_entry_id >= 0),
    through_entry_id    bigint NOT NULL CHECK (through_entry_id >= after_entry_id),
    breaches            integer NOT NULL CHECK (breaches >= 0),
    details             jsonb NOT NULL DEFAULT '[]',
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL DEFAULT now()
);
-- The checkpoint: the newest clean run.
CREATE INDEX ledger_check_run_clean ON ledger_check_run (id) WHERE breaches = 0;
REVOKE UPDATE, DELETE ON ledger_check_run FROM wallet_app;
