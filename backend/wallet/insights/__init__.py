"""Insights: spending categories, budgets, trends and financial health (docs/insights.md)."""
