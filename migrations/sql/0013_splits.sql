-- Bill splitting: groups of users, shared expenses with each member's share, and the
-- settlements (real transfers or money requests) that pay debts between members.
-- A member's net position in a currency is what they paid for the group, less their
-- shares, plus settlements they paid, less settlements they received (docs/splits.md).

CREATE TABLE split_group (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    created_by bigint NOT NULL REFERENCES app_user (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE split_group_member (
    group_id  bigint NOT NULL REFERENCES split_group (id),
    user_id   bigint NOT NULL REFERENCES app_user (id),
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX split_group_member_user_idx ON split_group_member (user_id);

CREATE TABLE split_expense (
    id             bigserial PRIMARY KEY,
    group_id       bigint NOT NULL REFERENCES split_group (id),
    paid_by        bigint NOT NULL REFERENCES app_user (id),
    description    text NOT NULL CHECK (length(description) BETWEEN 1 AND 140),
    currency       char(3) NOT NULL,
    amount         bigint NOT NULL CHECK (amount > 0),
    method         text NOT NULL CHECK (method IN ('equal', 'exact', 'percent', 'shares')),
    created_by     bigint NOT NULL REFERENCES app_user (id),
    -- A merchant payment split after the fact: split once.
    transaction_id bigint UNIQUE REFERENCES money_transaction (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX split_expense_group_idx ON split_expense (group_id, id);

CREATE TABLE split_share (
    expense_id bigint NOT NULL REFERENCES split_expense (id),
    user_id    bigint NOT NULL REFERENCES app_user (id),
    amount     bigint NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (expense_id, user_id)
);

-- Shares add up to the expense exactly (checked at commit, like a journal entry).
CREATE FUNCTION split_shares_add_up() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target bigint;
BEGIN
    IF TG_TABLE_NAME = 'split_share' THEN
        target := NEW.expense_id;
    ELSE
        target := NEW.id;
    END IF;
    IF (SELECT amount FROM split_expense WHERE id = target)
       IS DISTINCT FROM (SELECT sum(amount) FROM split_share WHERE expense_id = target) THEN
        RAISE EXCEPTION 'shares of split expense % do not add up', target;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER split_expense_balanced AFTER INSERT ON split_expense
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION split_shares_add_up();
CREATE CONSTRAINT TRIGGER split_share_balanced AFTER INSERT ON split_share
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION split_shares_add_up();

CREATE TABLE split_settlement (
    id               bigserial PRIMARY KEY,
    group_id         bigint NOT NULL REFERENCES split_group (id),
    from_user        bigint NOT NULL REFERENCES app_user (id),
    to_user          bigint NOT NULL REFERENCES app_user (id),
    currency         char(3) NOT NULL,
    amount           bigint NOT NULL CHECK (amount > 0),
    -- Paid now by a transfer, or asked for by a money request (counts once paid).
    transaction_id   bigint REFERENCES money_transaction (id),
    money_request_id bigint REFERENCES money_request (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((transaction_id IS NULL) <> (money_request_id IS NULL)),
    CHECK (from_user <> to_user)
);
CREATE INDEX split_settlement_group_idx ON split_settlement (group_id);
