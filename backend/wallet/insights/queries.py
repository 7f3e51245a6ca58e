"""Hand-written SQL of insights: the set-based and analytic queries Piccolo cannot
express (aggregates over another domain's history, correlated NOT EXISTS, an UPDATE
from unnest). Everything else in insights queries through Piccolo."""

# Payees paid in the period with no reminder yet: $1 user, $2 since.
RECURRING_PAYEES = """
SELECT t.merchant_id, CASE WHEN t.merchant_id IS NULL THEN t.counterparty_user_id
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
 GROUP BY 1, 2, 3, 4
"""

# Reminders coming due on $1 whose payee was not paid since the previous due date.
DUE_UNPAID = """
SELECT b.* FROM bill_reminder b
 WHERE b.next_due - b.remind_days_before <= $1 AND b.next_due >= $1
   AND NOT EXISTS (
       SELECT 1 FROM money_transaction t
        WHERE t.initiator_user_id = b.user_id AND t.status = 'completed'
          AND t.type IN ('payment', 'send')
          AND (t.merchant_id = b.merchant_id
               OR (b.merchant_id IS NULL
                   AND t.counterparty_user_id = b.counterparty_user_id))
          AND t.created_at >= (b.next_due - interval '25 days'))
"""

# Past due dates move to the next one: $1 today, $2 days of the month, $3 their next dates.
ROLL_PAST_DUE_DATES = (
    "UPDATE bill_reminder b SET next_due = v.due "
    "FROM unnest($2::int[], $3::date[]) AS v(day, due) "
    "WHERE b.next_due < $1 AND b.day_of_month = v.day"
)

# The viewer's transactions with their flow, payee and category. $1 is the viewer;
# `{where}` narrows the rows of both halves (by time or by id).
_ACTIVITY = """
WITH mine AS (
    SELECT t.*, true AS outgoing FROM money_transaction t
     WHERE t.initiator_user_id = $1 AND {where}
    UNION ALL
    SELECT t.*, false FROM money_transaction t
     WHERE t.counterparty_user_id = $1 AND t.initiator_user_id IS DISTINCT FROM $1 AND {where}
), described AS (
    SELECT m.id, m.created_at, m.status, m.type, m.refund_of_id, mer.mcc,
           CASE WHEN NOT m.outgoing AND m.counter_currency IS NOT NULL
                THEN m.counter_currency ELSE m.currency END AS currency,
           CASE WHEN NOT m.outgoing AND m.counter_currency IS NOT NULL
                THEN m.counter_amount ELSE m.amount END AS amount,
           CASE WHEN m.outgoing AND m.type IN ('payment', 'send') THEN 'expense'
                WHEN NOT m.outgoing AND m.type = 'refund' THEN 'refund'
                WHEN NOT m.outgoing AND m.type IN ('send', 'promotional_credit', 'reward')
                THEN 'income' END AS flow,
           coalesce(mer.name, other.username, m.recipient_contact, '') AS payee
      FROM mine m
      LEFT JOIN merchant mer ON mer.id = m.merchant_id
      LEFT JOIN app_user other ON other.id = CASE WHEN m.outgoing THEN m.counterparty_user_id
                                                  ELSE m.initiator_user_id END
)
SELECT d.id, d.created_at, d.status, d.currency, d.amount, d.flow, d.payee,
       coalesce(
           (SELECT c.category FROM transaction_category c
             WHERE c.user_id = $1 AND c.transaction_id = d.id),
           (SELECT c.category FROM transaction_category c
             WHERE c.user_id = $1 AND c.transaction_id = d.refund_of_id),
           (SELECT r.category FROM category_rule r
             WHERE r.user_id = $1 AND d.payee <> '' AND position(r.pattern IN lower(d.payee)) > 0
             ORDER BY r.id LIMIT 1),
           (SELECT g.category FROM category_mcc_range g
             WHERE d.mcc::integer BETWEEN g.low AND g.high ORDER BY g.high - g.low LIMIT 1),
           CASE WHEN d.flow = 'income' THEN 'income' ELSE 'transfers' END
       ) AS category
  FROM described d
"""

# The viewer's counted activity in [$2, $3) with statuses $4. A fully refunded payment is
# REVERSED: it still counts, and its refunds offset it.
ACTIVITY_BETWEEN = _ACTIVITY.format(where="t.created_at >= $2 AND t.created_at < $3") + (
    " WHERE d.flow IS NOT NULL AND (d.status = ANY($4::text[])"
    " OR (d.status = 'reversed' AND d.type = 'payment')) ORDER BY d.id"
)

# The viewer's transactions with ids $2.
ACTIVITY_OF_IDS = _ACTIVITY.format(where="t.id = ANY($2::bigint[])")

# The budget of the category a payment of $4 to payee $2 (a merchant with MCC $3, or
# NULL) by $1 would fall in, decided as _ACTIVITY decides it for a made payment: the
# person's first matching rule, then the MCC's narrowest range. None when no budget.
BUDGET_FOR_PAYMENT = """
SELECT b.id, b.category, b.amount, b.rollover, b.alert_percents, b.starts_month, b.strict
  FROM budget b
 WHERE b.user_id = $1 AND b.currency = $4
   AND b.category = coalesce(
       (SELECT r.category FROM category_rule r
         WHERE r.user_id = $1 AND $2 <> '' AND position(r.pattern IN lower($2)) > 0
         ORDER BY r.id LIMIT 1),
       (SELECT g.category FROM category_mcc_range g
         WHERE $3::text::integer BETWEEN g.low AND g.high ORDER BY g.high - g.low LIMIT 1),
       'transfers')
"""
