"""Rewards: points, cashback, tiers, referral bonuses, streaks and badges."""
