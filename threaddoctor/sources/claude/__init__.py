"""claude (sources)."""
