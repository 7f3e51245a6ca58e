// Amounts arrive from the API as decimal strings already rounded to the currency's
// exponent. The app never does arithmetic on them, nor turns them into floats (a float
// loses cents past 2^53): the digits are the API's, and only the symbol, its position,
// the sign, the separators and the grouping come from the browser's locale
// (Intl.NumberFormat.formatToParts of a sample amount).

const LOCALE = (typeof navigator !== "undefined" && navigator.language) || "en-US";

type Shape = {
  /** The parts of a sample amount, with the digits to be replaced by ours. */
  parts: Intl.NumberFormatPart[];
  group: string;
  decimal: string;
  /** Digits in the last group, and in each group before it (3 and 2 in en-IN). */
  primary: number;
  secondary: number;
  /** Four-digit amounts are not grouped (es: "1234 €"). */
  groupFour: boolean;
};

const shapes = new Map<string, Shape | null>();

function formatter(currency: string): Intl.NumberFormat {
  try {
    return new Intl.NumberFormat(LOCALE, { style: "currency", currency });
  } catch {
    return new Intl.NumberFormat("en-US", { style: "currency", currency });
  }
}

function shapeOf(currency: string, negative: boolean): Shape | null {
  const key = `${currency}${negative ? "-" : "+"}`;
  if (shapes.has(key)) return shapes.get(key)!;
  let shape: Shape | null = null;
  try {
    const format = formatter(currency);
    const parts = format.formatToParts(negative ? -1234567.5 : 1234567.5);
    const groups = parts.filter((p) => p.type === "integer").map((p) => p.value.length);
    shape = {
      parts,
      group: parts.find((p) => p.type === "group")?.value ?? "",
      decimal: parts.find((p) => p.type === "decimal")?.value ?? ".",
      primary: groups.length > 1 ? groups[groups.length - 1] : 3,
      secondary: groups.length > 2 ? groups[groups.length - 2] : groups.length > 1 ? groups[groups.length - 1] : 3,
      groupFour: format.formatToParts(1234).some((p) => p.type === "group"),
    };
  } catch {
    shape = null; // not a currency code the browser knows: "12.00 XYZ" below
  }
  shapes.set(key, shape);
  return shape;
}

function group(units: string, shape: Shape): string {
  if (!shape.group || units.length <= shape.primary || (units.length === 4 && !shape.groupFour)) return units;
  const out = [units.slice(-shape.primary)];
  let rest = units.slice(0, -shape.primary);
  while (rest.length > shape.secondary) {
    out.unshift(rest.slice(-shape.secondary));
    rest = rest.slice(0, -shape.secondary);
  }
  if (rest) out.unshift(rest);
  return out.join(shape.group);
}

/** "1234.5" USD → "$1,234.50"-like in the browser's locale ("1.234,50 €" in de). The
 * digits are the API's decimal string's: only its sign, symbol and grouping are added. */
export function formatMoney(amount: string, currency: string): string {
  const trimmed = amount.trim();
  const negative = trimmed.startsWith("-");
  const [rawUnits, minor] = trimmed.replace(/^[-+]/, "").split(".");
  const units = rawUnits.replace(/^0+(?=\d)/, "") || "0";
  const shape = shapeOf(currency, negative);
  if (!shape) {
    const body = minor === undefined ? units : `${units}.${minor}`;
    return `${negative ? "−" : ""}${body} ${currency}`;
  }
  let integerDone = false;
  let out = "";
  for (const part of shape.parts) {
    switch (part.type) {
      case "integer":
        if (!integerDone) out += group(units, shape);
        integerDone = true;
        break;
      case "group":
        break; // inside the integer, written with it
      case "decimal":
        if (minor) out += shape.decimal;
        break;
      case "fraction":
        if (minor) out += minor;
        break;
      case "minusSign":
        out += "−"; // a true minus sign, as the app has always shown
        break;
      default:
        out += part.value;
    }
  }
  return out;
}

const RATE = new Map<string, Intl.NumberFormat>();

/** An exchange rate as people read it: 4 to 6 significant digits ("1.0816", "0.918075",
 * "151.234"), in the locale's digits. Rates are shown, never used: a float is fine here. */
export function formatRateNumber(rate: string): string {
  let format = RATE.get(LOCALE);
  if (!format) {
    format = new Intl.NumberFormat(LOCALE, { minimumSignificantDigits: 4, maximumSignificantDigits: 6 });
    RATE.set(LOCALE, format);
  }
  const value = Number(rate);
  return Number.isFinite(value) ? format.format(value) : rate;
}

/** "1 EUR = 1.0816 USD": what one unit of `from` buys in `to`. */
export function formatRate(rate: string, from: string, to: string): string {
  return `1 ${from} = ${formatRateNumber(rate)} ${to}`;
}

/** a − b, exactly, for two decimal strings of one currency ("50.00" − "12.50" →
 * "37.50"), in whole minor units (BigInt): for a preview only, the server decides. */
export function subtractAmounts(a: string, b: string): string {
  const scale = Math.max((a.split(".")[1] ?? "").length, (b.split(".")[1] ?? "").length);
  const minor = (x: string) => {
    const negative = x.trim().startsWith("-");
    const [units, fraction = ""] = x.trim().replace(/^[-+]/, "").split(".");
    const value = BigInt((units || "0") + fraction.padEnd(scale, "0"));
    return negative ? -value : value;
  };
  const difference = minor(a) - minor(b);
  const sign = difference < 0n ? "-" : "";
  const digits = (difference < 0n ? -difference : difference).toString().padStart(scale + 1, "0");
  return scale ? `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}` : `${sign}${digits}`;
}
