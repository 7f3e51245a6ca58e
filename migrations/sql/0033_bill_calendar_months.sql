-- Bills in calendar months (issue 18, item 9). A monthly schedule used to add 30 days,
-- so its date drifted; it now runs on a day of the month (the month's last day when it
-- is shorter, and back to that day when a month has it), at a time of day, in the
-- payer's time zone. Existing schedules keep the day and time of their next run, in UTC.
ALTER TABLE bill_schedule
    ADD COLUMN day_of_month smallint,
    ADD COLUMN local_time time,
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';
UPDATE bill_schedule
   SET day_of_month = extract(day FROM next_run_at AT TIME ZONE 'UTC'),
       local_time = (next_run_at AT TIME ZONE 'UTC')::time;
ALTER TABLE bill_schedule
    ALTER COLUMN day_of_month SET NOT NULL,
    ALTER COLUMN local_time SET NOT NULL,
    ADD CONSTRAINT bill_schedule_day_of_month_check CHECK (day_of_month BETWEEN 1 AND 31);

-- Reminders may fall due on the 29th to the 31st too, by the same end-of-month rule.
ALTER TABLE bill_reminder DROP CONSTRAINT bill_reminder_day_of_month_check;
ALTER TABLE bill_reminder
    ADD CONSTRAINT bill_reminder_day_of_month_check CHECK (day_of_month BETWEEN 1 AND 31);
