// Dates and times as people read them, in the browser's own locale (Intl.DateTimeFormat),
// never as the API's ISO strings. A `Date` scalar (a calendar day, "2027-01-01") is read
// and shown in UTC, so that no time zone moves it to the day before.

const DAY = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const MONTH = new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric", timeZone: "UTC" });
const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const TIME = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const ORDINAL = new Intl.PluralRules("en", { type: "ordinal" });
const SUFFIX: Record<string, string> = { one: "st", two: "nd", few: "rd", other: "th" };

function calendarDay(value: unknown): Date {
  const [year, month, day] = String(value).slice(0, 10).split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day));
}

/** A calendar day from a `Date` scalar: "Jan 1, 2027" (en-US), "1 Jan 2027" (en-GB). */
export function formatDay(value: unknown): string {
  return DAY.format(calendarDay(value));
}

/** The month of a `Date` scalar: "January 2027". */
export function formatMonth(value: unknown): string {
  return MONTH.format(calendarDay(value));
}

/** The local date of a `DateTime` scalar. */
export function formatDate(value: unknown): string {
  return DATE.format(new Date(String(value)));
}

/** The local date and time of a `DateTime` scalar: "Dec 5, 2026, 10:42 AM". */
export function formatDateTime(value: unknown): string {
  return DATE_TIME.format(new Date(String(value)));
}

/** The local time of a `DateTime` scalar: "10:42 AM". */
export function formatTime(value: unknown): string {
  return TIME.format(new Date(String(value)));
}

/** A day of the month in the app's words: 1st, 2nd, 3rd, 22nd, 31st. */
export function ordinal(day: number): string {
  return `${day}${SUFFIX[ORDINAL.select(day)] ?? "th"}`;
}

/** A span of time as people say it: "52 s", "14 min 52 s", "2 h 5 min", "3 days 4 h";
 * never "892s". The smaller unit is left out when it is zero ("5 min", "2 h"). */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.round(totalSeconds));
  const pair = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`;
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return pair(Math.floor(seconds / 60), "min", seconds % 60, "s");
  if (seconds < 86400) return pair(Math.floor(seconds / 3600), "h", Math.floor((seconds % 3600) / 60), "min");
  const days = Math.floor(seconds / 86400);
  return pair(days, days === 1 ? "day" : "days", Math.floor((seconds % 86400) / 3600), "h");
}
