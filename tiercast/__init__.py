"""tiercast: value tiers, lifecycle stages, churn scores and routing priorities for a telecom contact centre."""

__version__ = "0.1.0"
