"""connectonion (sources)."""
