"""Hand-written SQL of splits: the one set-based query Piccolo cannot express. Everything
else in splits queries through Piccolo (`wallet.splits.tables`)."""

# Each member's net position per currency in group $1: what they paid for the group, less
# their shares, plus settlements they paid, less settlements they received (a settlement
# by money request counts once the request is paid). A UNION ALL of three kinds of move,
# one of them unfolded into both sides by a LATERAL VALUES, summed per member and
# currency: Piccolo has no union, lateral join or grouping over a derived table.
GROUP_NETS = """
SELECT user_id, currency, sum(delta)::bigint AS net FROM (
    SELECT paid_by AS user_id, currency, amount AS delta
      FROM split_expense WHERE group_id = $1
    UNION ALL
    SELECT s.user_id, e.currency, -s.amount
      FROM split_share s JOIN split_expense e ON e.id = s.expense_id
     WHERE e.group_id = $1
    UNION ALL
    SELECT side.user_id, st.currency, side.sign * st.amount
      FROM split_settlement st
      LEFT JOIN money_request r ON r.id = st.money_request_id
      CROSS JOIN LATERAL (VALUES (st.from_user, 1), (st.to_user, -1))
           AS side (user_id, sign)
     WHERE st.group_id = $1 AND (st.transaction_id IS NOT NULL OR r.status = 'paid')
) moves GROUP BY user_id, currency
"""
