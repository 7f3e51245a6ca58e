import type { SpendingCategory } from "../gql/graphql";

/** Spending categories: value, label, chart colour. */
export const CATEGORIES: [SpendingCategory, string, string][] = [
  ["FOOD", "Food", "#1f8a70"],
  ["TRANSPORT", "Transport", "#3b82f6"],
  ["SHOPPING", "Shopping", "#f59e0b"],
  ["BILLS", "Bills", "#8b5cf6"],
  ["ENTERTAINMENT", "Entertainment", "#ec4899"],
  ["HEALTH", "Health", "#ef4444"],
  ["TRAVEL", "Travel", "#06b6d4"],
  ["TRANSFERS", "Transfers", "#64748b"],
  ["INCOME", "Income", "#22c55e"],
  ["OTHER", "Other", "#a3a3a3"],
];
