"""Pure feature functions: each takes validated input frames and an explicit as-of date."""
