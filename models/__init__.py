"""Decisions from features: value tiers, lifecycle stages, the churn model and its evaluation."""
