"""Hand-written SQL of merchants that Piccolo cannot express. Everything else in bills
and merchant administration queries through Piccolo."""

# Claim the reminders of scheduled bill payments due within a day of $1, once per due
# date: an UPDATE ... FROM (a join Piccolo's update has no form for) whose condition is
# the claim, so two workers never remind twice.
CLAIM_BILL_REMINDERS = (
    "UPDATE bill_schedule b SET reminded_for = b.next_run_at FROM saved_biller s, "
    "merchant m WHERE s.id = b.saved_biller_id AND m.id = s.merchant_id "
    "AND b.status = 'active' AND b.next_run_at <= $1::timestamptz + interval '1 day' "
    "AND b.next_run_at > $1 AND b.reminded_for IS DISTINCT FROM b.next_run_at "
    "RETURNING b.id, b.user_id, b.amount, b.currency, b.next_run_at, m.name"
)
