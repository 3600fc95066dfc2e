"""claude (rules)."""
