"""connectonion (rules)."""
