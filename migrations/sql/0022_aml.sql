-- AML monitoring: cases opened by detectors over committed transactions, SAR drafts,
-- the sandbox sanctions list, and why a wallet was frozen (operators only).

CREATE TABLE aml_case (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id),
    detector     text NOT NULL CHECK (detector IN ('structuring', 'rapid_in_out', 'fan_in',
                     'fan_out', 'sanctions')),
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'escalated', 'closed')),
    summary      text NOT NULL,
    evidence     jsonb NOT NULL,
    closed_reason text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'closed' OR closed_reason IS NOT NULL)
);
-- One live case per user and pattern: a detector that fires again adds nothing.
CREATE UNIQUE INDEX aml_case_one_live ON aml_case (user_id, detector)
    WHERE status IN ('open', 'escalated');
CREATE INDEX aml_case_queue ON aml_case (created_at) WHERE status <> 'closed';

CREATE TABLE aml_sar (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL UNIQUE REFERENCES aml_case (id),
    document    jsonb NOT NULL,
    created_by  bigint NOT NULL REFERENCES app_user (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE aml_monitor_cursor (
    id        integer PRIMARY KEY CHECK (id = 1),
    scanned_to timestamptz NOT NULL
);
INSERT INTO aml_monitor_cursor (id, scanned_to) VALUES (1, '1970-01-01T00:00:00Z');

CREATE TABLE sanctions_entry (
    id        bigserial PRIMARY KEY,
    name      text NOT NULL,
    program   text NOT NULL,
    listed_at date NOT NULL
);
-- The sandbox list (fictional names).
INSERT INTO sanctions_entry (name, program, listed_at) VALUES
  ('Ivan Sanctionov', 'SANDBOX-CYBER', '2024-03-01'),
  ('Mara Blacklistova', 'SANDBOX-TERR', '2023-11-15'),
  ('Viktor Embargo', 'SANDBOX-NONPROLIF', '2025-06-30'),
  ('Oleg Frozenko', 'SANDBOX-CYBER', '2022-01-20');

ALTER TABLE wallet ADD COLUMN frozen_reason text;
ALTER TABLE wallet ADD COLUMN frozen_at timestamptz;
