"""Readable times and spans for messages (the app writes ISO-8601 UTC with milliseconds)."""

from __future__ import annotations

from dateutil.parser import isoparse


def span(start: str | None, end: str | None) -> str:
    """'22 min', '3 h 5 min', '2 d 4 h' between two ISO timestamps; '' if either is unreadable."""
    try:
        seconds = int((isoparse(end) - isoparse(start)).total_seconds())  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return ""
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return f"{days} d {hours % 24} h"
    if hours:
        return f"{hours} h {minutes % 60} min"
    return f"{minutes} min"
