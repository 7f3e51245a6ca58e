// Amounts arrive from the API as decimal strings already rounded to the currency's
// exponent; the app only adds the symbol and digit grouping, never does arithmetic.

const SYMBOLS: Record<string, string> = { USD: "$", EUR: "€", GBP: "£", JPY: "¥", INR: "₹", BRL: "R$" };

export function formatMoney(amount: string, currency: string): string {
  const symbol = SYMBOLS[currency];
  const [units, minor] = amount.replace("-", "").split(".");
  const grouped = units.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const sign = amount.startsWith("-") ? "−" : "";
  const body = minor === undefined ? grouped : `${grouped}.${minor}`;
  return symbol ? `${sign}${symbol}${body}` : `${sign}${body} ${currency}`;
}
