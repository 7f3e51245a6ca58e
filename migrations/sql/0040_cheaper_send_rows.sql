-- Cheaper rows for the send path (issue 15, part 2).
--
-- gateway_ref and reverses_id are unique, but NULL for every send, payment and fee:
-- as plain UNIQUE constraints each such row still made an entry in both indexes. Partial
-- unique indexes keep the rule for the rows that have a value and skip the rest.
ALTER TABLE money_transaction DROP CONSTRAINT money_transaction_gateway_ref_key;
CREATE UNIQUE INDEX money_transaction_gateway_ref_key ON money_transaction (gateway_ref)
    WHERE gateway_ref IS NOT NULL;
ALTER TABLE money_transaction DROP CONSTRAINT money_transaction_reverses_id_key;
CREATE UNIQUE INDEX money_transaction_reverses_id_key ON money_transaction (reverses_id)
    WHERE reverses_id IS NOT NULL;

-- Idempotency keys are written in created_at order and read by age only by the purge
-- (created_at < now() - retention): a BRIN index answers that at a fraction of a
-- B-tree's insertion cost and size.
DROP INDEX idempotency_key_created_idx;
CREATE INDEX idempotency_key_created_idx ON idempotency_key USING brin (created_at);
