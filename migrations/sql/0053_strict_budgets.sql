-- Budgets that act at the moment of paying (issue 19).
--
-- A strict budget holds a payment that would take it over this month until the person
-- confirms it a second time (the payment command's policy step refuses it with
-- BUDGET_WOULD_BE_EXCEEDED; a retry with the same key and overrideBudget passes).
-- Every budget warns on the review screen; only a strict one refuses.
ALTER TABLE budget ADD COLUMN strict boolean NOT NULL DEFAULT false;
