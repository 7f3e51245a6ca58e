-- A money request can be addressed to an email or phone that has no wallet yet (review
-- finding 18): the requester gets the same answer as for a registered contact, an
-- invite goes out, and the request waits for whoever proves the contact is theirs
-- (as unclaimed transfers do). `payer_contact` is the email or phone the requester
-- typed (normalised), kept for registered payers too: that is what the requester sees.

ALTER TABLE money_request ALTER COLUMN payer_id DROP NOT NULL;
ALTER TABLE money_request ADD COLUMN payer_contact text;
ALTER TABLE money_request ADD CONSTRAINT money_request_has_payer
    CHECK (payer_id IS NOT NULL OR payer_contact IS NOT NULL);
-- Only a payer can pay or decline.
ALTER TABLE money_request ADD CONSTRAINT money_request_answered_by_payer
    CHECK (payer_id IS NOT NULL OR status IN ('open', 'cancelled', 'expired'));
CREATE INDEX money_request_waiting_contact_idx ON money_request (payer_contact)
    WHERE payer_id IS NULL AND status = 'open';
