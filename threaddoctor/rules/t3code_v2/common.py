"""What several V2 rules share: status sets in SQL, the JSON of a projection row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threaddoctor.sources.t3code.v2.source import V2Source


def marks(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def live_threads(src: V2Source) -> dict[str, str]:
    """thread id -> title of the threads not deleted."""
    return src.memo(
        "live-threads",
        lambda: {
            r["thread_id"]: r["title"]
            for r in src.rows(
                "SELECT thread_id, title FROM orchestration_v2_projection_threads WHERE deleted_at IS NULL"
            )
        },
    )


def capability(src: V2Source, request: dict[str, Any]) -> str | None:
    value = src.payload(request).get("responseCapability")
    return value.get("type") if isinstance(value, dict) else None


def cut_off(src: V2Source) -> bool:
    """No live server holds the file (or it is a copy): what is not terminal was cut off."""
    return not src.server_alive
