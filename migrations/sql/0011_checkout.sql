-- Online checkout: a merchant server creates the request with a return URL; the hosted
-- pay page sends the customer back there with the outcome (the webhook confirms it).
ALTER TABLE payment_request ADD COLUMN return_url text CHECK (return_url ~ '^https?://');
