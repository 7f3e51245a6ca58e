-- The queries that read money_transaction by a party's user id, under EXPLAIN ANALYZE
-- (issue 15, "Cheaper rows"; docs/ledger.md has the plans). Run against a scratch
-- database seeded as bench/README.md describes:
--   psql -d DB -v uid=USER_ID -f bench/party_indexes.sql
-- Each is the query's money_transaction part, with the service's parameters inlined.
\set ON_ERROR_STOP 1
\pset pager off
SET plan_cache_mode = force_custom_plan;

\echo '== limits.usage: sums since the start of the month'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT type, currency, coalesce(sum(amount) FILTER (WHERE created_at >= date_trunc('day', now())), 0),
       sum(amount)
  FROM money_transaction
 WHERE initiator_user_id = :uid AND created_at >= date_trunc('month', now())
   AND type = ANY('{send,payment,withdrawal,add}'::text[]) AND status NOT IN ('failed', 'expired')
 GROUP BY type, currency;

\echo '== fraud engine _features: recent (velocity)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM money_transaction
 WHERE initiator_user_id = :uid AND type IN ('send', 'payment') AND created_at >= now() - interval '1 day'
   AND status NOT IN ('failed', 'expired');

\echo '== fraud engine _features: history (usual amount in the currency, newest first)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT amount FROM money_transaction
 WHERE initiator_user_id = :uid AND currency = 'USD' AND created_at >= now() - interval '90 days'
   AND type IN ('send', 'payment') AND status NOT IN ('failed', 'expired')
 ORDER BY created_at DESC LIMIT 50;

\echo '== fraud engine _features: paid this recipient before'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT EXISTS (SELECT 1 FROM money_transaction WHERE counterparty_user_id = :uid + 1
                  AND initiator_user_id = :uid AND status = 'completed');

\echo '== transactions.history.page: first page (initiator half; the counterparty half is the same)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT t.id, t.created_at FROM money_transaction t
 WHERE t.initiator_user_id = :uid
   AND (t.created_at, t.id) < (coalesce((SELECT c.created_at FROM money_transaction c
                                          WHERE c.id = 4611686018427387904), 'infinity'),
                               4611686018427387904)
 ORDER BY t.created_at DESC, t.id DESC LIMIT 21;

\echo '== transactions.history.page: a later page (counterparty half), cursor = a transaction id'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT t.id, t.created_at FROM money_transaction t
 WHERE t.counterparty_user_id = :uid AND t.initiator_user_id IS DISTINCT FROM :uid
   AND (t.created_at, t.id) < (coalesce((SELECT c.created_at FROM money_transaction c
                                          WHERE c.id = (SELECT max(id) / 2 FROM money_transaction)),
                                        'infinity'),
                               (SELECT max(id) / 2 FROM money_transaction))
 ORDER BY t.created_at DESC, t.id DESC LIMIT 21;

\echo '== transactions.activity: not moved money yet (partial index)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id, created_at FROM money_transaction t
 WHERE initiator_user_id = :uid AND entry_id IS NULL AND created_at <= now()
 ORDER BY created_at DESC, id DESC LIMIT 21;

\echo '== insights ACTIVITY_BETWEEN (a month, both halves)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT t.id FROM money_transaction t
 WHERE t.initiator_user_id = :uid AND t.created_at >= now() - interval '30 days' AND t.created_at < now()
UNION ALL
SELECT t.id FROM money_transaction t
 WHERE t.counterparty_user_id = :uid AND t.initiator_user_id IS DISTINCT FROM :uid
   AND t.created_at >= now() - interval '30 days' AND t.created_at < now();

\echo '== rewards: 30-day spend; referrals _MOVEMENTS'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT currency, sum(amount)::bigint FROM money_transaction
 WHERE initiator_user_id = :uid AND type IN ('payment', 'send')
   AND status IN ('completed', 'pending') AND created_at >= now() - interval '30 days'
 GROUP BY currency;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT currency, max(amount) FROM money_transaction
 WHERE initiator_user_id = :uid AND type IN ('add', 'send', 'payment') AND status = 'completed'
   AND created_at <= now() AND counterparty_user_id IS DISTINCT FROM :uid + 1
 GROUP BY currency;

\echo '== aml.monitor: a user movements since (either side)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM money_transaction WHERE status = 'completed' AND created_at >= now() - interval '30 days'
   AND type IN ('send', 'add', 'withdrawal', 'payment')
   AND (initiator_user_id = :uid OR counterparty_user_id = :uid) ORDER BY created_at, id;

\echo '== insights RECURRING_PAYEES (payees of the last 90 days with no reminder)'
PREPARE recurring_payees(bigint, timestamptz) AS SELECT t.merchant_id, CASE WHEN t.merchant_id IS NULL THEN t.counterparty_user_id
                           END AS counterparty_user_id,
       coalesce(m.name, '@' || u.username) AS name, t.currency,
       array_agg(t.amount ORDER BY t.created_at) AS amounts,
       array_agg(t.created_at ORDER BY t.created_at) AS times
  FROM money_transaction t
  LEFT JOIN merchant m ON m.id = t.merchant_id
  LEFT JOIN app_user u ON u.id = t.counterparty_user_id
 WHERE t.initiator_user_id = $1 AND t.type IN ('payment', 'send')
   AND t.status IN ('completed', 'reversed') AND t.created_at >= $2
   AND (t.merchant_id IS NOT NULL OR t.counterparty_user_id IS NOT NULL)
   AND NOT EXISTS (
       SELECT 1 FROM bill_reminder b WHERE b.user_id = $1
          AND (b.merchant_id = t.merchant_id
               OR (t.merchant_id IS NULL
                   AND b.counterparty_user_id = t.counterparty_user_id)))
 GROUP BY 1, 2, 3, 4;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE recurring_payees(:uid, now() - interval '90 days');

\echo '== insights DUE_UNPAID (per reminder due, paid since?)'
PREPARE due_unpaid(date) AS SELECT b.* FROM bill_reminder b
 WHERE b.next_due - b.remind_days_before <= $1 AND b.next_due >= $1
   AND NOT EXISTS (
       SELECT 1 FROM money_transaction t
        WHERE t.initiator_user_id = b.user_id AND t.status = 'completed'
          AND t.type IN ('payment', 'send')
          AND (t.merchant_id = b.merchant_id
               OR (b.merchant_id IS NULL
                   AND t.counterparty_user_id = b.counterparty_user_id))
          AND t.created_at >= (b.next_due - interval '25 days'));
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE due_unpaid(current_date);

\echo '== rewards: days with a payment or send in the last 90 days (streaks)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date AS day FROM money_transaction
 WHERE initiator_user_id = :uid AND type IN ('payment', 'send') AND status = 'completed'
   AND created_at >= now() - interval '90 days';
