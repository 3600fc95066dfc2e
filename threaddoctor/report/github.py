"""`--format github`: GitHub Actions workflow commands, one annotation per finding.

    ::error file=state.sqlite,title=T3001 sticky-transient-error::session stuck in error ...

Severity maps to the command (error, warning, notice); a turn, call or request left unjudged
because the log may be live gets a notice of its own. Paths are relative to the current
directory (the checkout) when inside it. `line=` is left out when the finding has no line, as for
a database. Values are escaped as the Actions runner expects, so any message round-trips.
"""

from __future__ import annotations

from threaddoctor.engine import ScanResult
from threaddoctor.findings import Finding, Severity, Unjudged
from threaddoctor.report.sarif import relative_path

COMMAND = {Severity.error: "error", Severity.warning: "warning", Severity.info: "notice"}


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    path = f.location.path if f.location else f.source
    props = [f"file={escape_property(relative_path(path)[0])}"]
    if f.location and f.location.line is not None:
        props.append(f"line={f.location.line}")
    props.append(f"title={escape_property(f'{f.rule} {f.name}')}")
    message = f.message
    if f.thread_id:
        message += f"\nthread {f.thread_id}" + (f", turn {f.turn_id}" if f.turn_id else "")
    if f.repair:
        message += f"\nProposed repair ({f.repair.safety.value}): {f.repair.summary}"
    return f"::{COMMAND[f.severity]} {','.join(props)}::{escape_data(message)}"


def unreadable_annotation(result: ScanResult) -> str:
    """An error annotation on a file that could not be read, at the line reading stopped at."""
    u = result.unreadable
    assert u is not None
    props = [f"file={escape_property(relative_path(result.source)[0])}"]
    if u.line is not None:
        props.append(f"line={u.line}")
    props.append(f"title={escape_property('threaddoctor: cannot read')}")
    return f"::error {','.join(props)}::{escape_data(u.reason + f' (reading stopped {u.stopped_at})')}"


def note(result: ScanResult, text: str) -> str:
    """A scan's note (which file was scanned and why, what was not run) as a notice."""
    props = f"file={escape_property(relative_path(result.source)[0])},title={escape_property('threaddoctor note')}"
    return f"::notice {props}::{escape_data(text)}"


def unjudged_notice(result: ScanResult, u: Unjudged) -> str:
    """A notice for what a rule left unjudged because the agent may still be writing the log."""
    props = [f"file={escape_property(relative_path(result.source)[0])}"]
    if u.line is not None:
        props.append(f"line={u.line}")
    props.append(f"title={escape_property(f'{u.rule} not judged')}")
    subject = f" {u.subject}" if u.subject else ""
    message = f"{u.what}{subject} not judged: {u.why}; the agent may still be working on it (--settled judges anyway)"
    return f"::notice {','.join(props)}::{escape_data(message)}"


def annotations(results: list[ScanResult]) -> str:
    """One workflow command per note, per unreadable file, per finding and per item left unjudged
    (a notice at its line), each on its own line; empty when there are none."""
    return "".join(
        line + "\n"
        for r in results
        for line in [
            *(note(r, n) for n in r.notes),
            *([unreadable_annotation(r)] if r.unreadable else []),
            *map(annotation, r.findings),
            *(unjudged_notice(r, u) for u in r.unjudged),
        ]
    )
