-- The notification centre: per-channel preferences, Web Push subscriptions, low-balance
-- thresholds, and what each in-app notification links to (docs/architecture.md,
-- "Notifications").

-- Where a notification leads in the app ("/activity/<id>", "/requests/<id>",
-- "/disputes/<id>"); null: its transaction or request says (wallet.notifications.centre).
-- A path of this app: "/x…", never "//host…", which a browser reads as another site.
ALTER TABLE notification ADD COLUMN link text CHECK (link IS NULL OR link ~ '^/([^/\\]|$)');
-- False: written only to remember that it was delivered (its dedupe key), the user
-- having turned in-app notices of its kind off; the centre neither lists nor counts it.
ALTER TABLE notification ADD COLUMN in_app boolean NOT NULL DEFAULT true;
-- Set by the push job before it sends: a rerun of the job does not push it twice.
ALTER TABLE notification ADD COLUMN pushed_at timestamptz;
CREATE INDEX notification_unread_idx ON notification (user_id) WHERE read_at IS NULL AND in_app;

-- A user's choices that differ from the defaults (wallet.notifications.preferences):
-- one row per kind and channel they set. Security alerts cannot be turned off.
CREATE TABLE notification_preference (
    user_id    bigint NOT NULL REFERENCES app_user (id),
    kind       text NOT NULL CHECK (kind IN ('money_received', 'requests', 'security',
                                             'low_balance', 'weekly_summary', 'marketing')),
    channel    text NOT NULL CHECK (channel IN ('in_app', 'email', 'sms', 'push')),
    enabled    boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind, channel),
    CHECK (kind <> 'security' OR enabled)
);
REVOKE DELETE ON notification_preference FROM wallet_app;

-- A browser's Web Push subscription (PushSubscription.toJSON()): the push service's
-- endpoint and the keys its messages are encrypted to. One endpoint belongs to one user:
-- a browser that signs in as someone else moves it. Deleted when the user removes it or
-- the push service answers 404/410 (the subscription is gone).
CREATE TABLE push_subscription (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id),
    endpoint     text NOT NULL UNIQUE CHECK (length(endpoint) <= 1000),
    p256dh       text NOT NULL CHECK (length(p256dh) <= 200),
    auth         text NOT NULL CHECK (length(auth) <= 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_sent_at timestamptz
);
CREATE INDEX push_subscription_user_idx ON push_subscription (user_id);

-- A low-balance alert per user and currency: fires when a debit takes the available
-- balance below the threshold while `armed`, then disarms until the balance is back at
-- or above it (so it fires once per dip, not on every debit below).
CREATE TABLE low_balance_alert (
    user_id         bigint NOT NULL REFERENCES app_user (id),
    currency        char(3) NOT NULL,
    threshold_minor bigint NOT NULL CHECK (threshold_minor > 0),
    armed           boolean NOT NULL DEFAULT true,
    last_fired_at   timestamptz,
    -- The event that fired it: a retry of that event's job delivers the alert it may
    -- have failed to deliver (the disarm committed first), never a second one.
    fired_event_id  bigint,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, currency)
);
