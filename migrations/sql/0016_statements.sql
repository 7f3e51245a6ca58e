-- Monthly statements (PDF), built by the worker, kept for the user to download.
CREATE TABLE statement (
    user_id    bigint NOT NULL REFERENCES app_user (id),
    month      date NOT NULL CHECK (extract(day FROM month) = 1),
    pdf        bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, month)
);
