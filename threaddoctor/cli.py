"""The command line: parse options, call the library, render. Nothing else lives here.

Start-up time is part of every command: this module imports only what building the command line
needs, and each command imports what it uses (a scan of a Codex log never loads T3 Code's event
contract or the repair machinery; `--help` and `rules` load no reader at all).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from threaddoctor.errors import InputError, ThreadDoctorError, UsageError
from threaddoctor.severity import Severity
from threaddoctor.version import version_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from threaddoctor import baseline, config
    from threaddoctor.engine import ScanResult
    from threaddoctor.fix.files import FileFixReport
    from threaddoctor.rules.base import Rule
    from threaddoctor.sources.files.liveness import LiveCheck


class Exit(IntEnum):
    CLEAN = 0
    FINDINGS = 1
    ERROR = 2


class Format(StrEnum):
    text = "text"
    json = "json"


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    junit = "junit"
    jsonl = "jsonl"


def _plain_types(command: typer.core.TyperCommand | TyperGroup, ctx: typer.Context) -> None:
    """Typer prints beside every option the Python type it parses: `<bool>` for a flag (`--help
    <bool>`), as if it took a value, and `<list[str]>` for a repeatable option. A flag's type is left
    blank and a list shows the type of one item, unless the option names its own metavar."""
    for param in command.get_params(ctx):
        if isinstance(param, TyperOption) and param.metavar is None:
            if param.is_flag:
                param.metavar = ""
            elif param.type_descriptor.is_list:
                param.metavar = _item_type(param)
        elif isinstance(param, TyperArgument) and param.type_descriptor.is_list:
            label = _item_type(param)
            # An argument's metavar would rename it in the usage line: only its displayed type changes.
            param.display_type_rich = lambda ctx, label=label: label  # type: ignore[method-assign]


def _item_type(param: TyperOption | TyperArgument) -> str:
    (item,) = get_args(param.type_descriptor.annotation)
    return "<path>" if isinstance(item, type) and issubclass(item, Path) else f"<{getattr(item, '__name__', item)}>"


class _Group(TyperGroup):
    """Typer's group, showing its own options and its commands' in plain types (`_plain_types`)."""

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _plain_types(command, ctx)
        return command

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        _plain_types(self, ctx)
        super().format_help(ctx, formatter)


app = typer.Typer(
    cls=_Group,
    help="Find and repair stuck AI coding-agent threads. Exit status: 0 clean, 1 findings, 2 error.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Print the version and exit", is_eager=True, callback=_print_version),
    ] = False,
) -> None:
    """Find and repair stuck AI coding-agent threads. Exit status: 0 clean, 1 findings, 2 error."""


class _LazyConsole:
    """A rich Console made when first used: `--help`, `--version` and JSON output never import it."""

    def __init__(self, stderr: bool = False) -> None:
        self.stderr = stderr
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            # Logs and pipes are read by tools and wide viewers: do not hard-wrap them at 80 columns.
            stream = sys.stderr if self.stderr else sys.stdout
            wide = None if stream.isatty() or os.environ.get("COLUMNS") else 200
            self._console = Console(stderr=self.stderr, highlight=False, width=wide)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


out = _LazyConsole()
err = _LazyConsole(stderr=True)

EXAMPLE = "t3code-issue-313.sqlite"


def example_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("threaddoctor") / "examples" / EXAMPLE))


def fail(message: str) -> typer.Exit:
    err.print(f"threaddoctor: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(Exit.ERROR)


class LazyProgress:
    """A progress bar on a terminal only, and only once the work has taken more than a moment."""

    def __init__(self, console: _LazyConsole, delay: float = 0.4) -> None:
        self.console, self.delay, self.start = console, delay, time.monotonic()
        self.bar: Progress | None = None
        self.task = None

    def __call__(self, label: str, done: int, total: int) -> None:
        # The clock first: asking whether stderr is a terminal makes the console (imports rich).
        if time.monotonic() - self.start < self.delay or not self.console.is_terminal:
            return
        if self.bar is None:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=self.console.console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(label, total=total)
        self.bar.update(self.task, completed=done, total=total, description=label)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _resolve_path(path: Path | None, example: bool) -> Path:
    if example:
        return example_path()
    if path is not None:
        return path
    from threaddoctor.sources.t3code.locate import candidate_paths, default_database

    found = default_database()
    if found is None:
        looked = ", ".join(str(p) for p in candidate_paths())
        raise InputError(f"no T3 Code database found (looked in {looked}); pass its path")
    return found


@app.command()
def scan(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Databases (state.sqlite) or exported logs (.jsonl, .jsonl.gz); default: T3 Code's own"),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", "-s", help="Only these rules: codes, prefixes or names", metavar="<rule>"),
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", "-i", help="Skip these rules", metavar="<rule>")
    ] = None,
    deep: Annotated[
        bool, typer.Option("--deep", help="Decode every event in the log, not just what the app reads next")
    ] = False,
    fmt: Annotated[
        OutputFormat | None, typer.Option("--output-format", "--format", "-f", help="What to print on stdout")
    ] = None,
    text_output: Annotated[Path | None, typer.Option("--text-output", help="Also write the text report here")] = None,
    json_output: Annotated[Path | None, typer.Option("--json-output", help="Also write JSON here")] = None,
    sarif_output: Annotated[Path | None, typer.Option("--sarif-output", help="Also write SARIF 2.1.0 here")] = None,
    junit_output: Annotated[Path | None, typer.Option("--junit-output", help="Also write JUnit XML here")] = None,
    github_output: Annotated[
        Path | None, typer.Option("--github-output", help="Also write GitHub workflow annotations here")
    ] = None,
    baseline_file: Annotated[
        Path | None, typer.Option("--baseline", help="Report only findings not in this baseline")
    ] = None,
    exit_zero: Annotated[
        bool | None, typer.Option("--exit-zero/--no-exit-zero", help="Exit 0 even with findings (roll-out)")
    ] = None,
    example: Annotated[
        bool, typer.Option("--example", help="Scan the example database shipped with threaddoctor")
    ] = False,
    settled: Annotated[
        bool,
        typer.Option(
            "--settled",
            help="Judge every turn, even of a log an agent may still be writing (held open, or written moments ago)",
        ),
    ] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Check this many files at once, in as many processes")
    ] = 1,
) -> None:
    """Scan T3 Code databases (read-only) or exported logs and report stuck threads. A log an agent may
    still be writing (held open, or its newest record and last write both recent) has its current turn
    left unjudged, and the report says so. A file that cannot be read is reported and the others are
    still checked; the exit status is then 2."""
    from threaddoctor import baseline, config
    from threaddoctor.fleet import check_stream
    from threaddoctor.report import jsonl, outputs
    from threaddoctor.sources.files.liveness import LiveCheck

    live_check = LiveCheck.off if settled else LiveCheck.held_open if ctx.info_name == "check" else LiveCheck.recent
    progress = LazyProgress(err)
    try:
        cfg = config.load()
        chosen = (fmt.value if fmt else None) or cfg.output_format or "text"
        select, ignore = select or cfg.select, ignore or cfg.ignore
        rules = _chosen_rules(select, ignore)
        targets = _targets(paths, example, announce=fmt in (None, OutputFormat.text))
        files = {
            "text": text_output or cfg.text_output,
            "json": json_output or cfg.json_output,
            "sarif": sarif_output or cfg.sarif_output,
            "junit": junit_output or cfg.junit_output,
            "github": github_output or cfg.github_output,
        }
        known = baseline_file or cfg.baseline
        adjust = _adjuster(_severities(cfg), baseline.read(known) if known is not None else None)
        # JSON Lines are written as files finish and nothing is kept, unless a report file needs the whole.
        keep = chosen != "jsonl" or any(files.values())
        kept: dict[int, ScanResult] = {}
        counts = {"files": 0, "findings": 0, "unreadable": 0, "failing": 0}
        for i, result in check_stream(
            targets, jobs, select or (), ignore or (), deep or cfg.deep, progress, live_check
        ):
            result = adjust(result)
            _count(counts, result)
            if result.unreadable is not None:
                err.print(f"threaddoctor: error: {result.unreadable.message}", markup=False, soft_wrap=True)
            if chosen == "jsonl":
                sys.stdout.write(jsonl.file_lines(result))
                sys.stdout.flush()
            if keep:
                kept[i] = result
        results = [kept[i] for i in sorted(kept)]
        outputs.write_files(files, results, rules)
    except ThreadDoctorError as e:
        raise fail(str(e)) from None
    except OSError as e:
        raise fail(f"{e.filename}: cannot write ({e.strerror})") from None
    finally:
        progress.close()
    if chosen == "jsonl":
        sys.stdout.write(jsonl.total_line(counts["files"], counts["findings"], counts["unreadable"]))
    elif chosen == "text":
        # One input that cannot be read: its one-line error is the whole report.
        if not (len(results) == 1 and results[0].unreadable):
            outputs.render_text(results, out)
    else:
        sys.stdout.write(outputs.render(chosen, results, rules))  # not out.file: that makes a console
    if counts["unreadable"]:
        raise typer.Exit(Exit.ERROR)
    raise typer.Exit(
        Exit.FINDINGS
        if counts["failing"] and not (exit_zero if exit_zero is not None else cfg.exit_zero)
        else Exit.CLEAN
    )


app.command(
    "check",
    help="Run the rules on exported logs or databases, for CI: `scan`, except that every turn is judged unless "
    "a process holds the log open (a copied or downloaded log is settled).",
)(scan)


def _scan_one(
    target: Path,
    rules: list[Rule] | None,
    deep: bool = False,
    progress: LazyProgress | None = None,
    live_check: LiveCheck | None = None,
):
    """Scan a file, or the database a T3 home uses, with the notes about the file left behind.
    `live_check` None: the engine's default (`recent`)."""
    from threaddoctor.fleet import scan_target
    from threaddoctor.sources.files.liveness import LiveCheck

    return scan_target(target, rules, deep, progress, live_check or LiveCheck.recent)


def _adjuster(severities: dict[str, str], known: baseline.Baseline | None) -> Callable[[ScanResult], ScanResult]:
    """Config severity overrides, then the baseline, applied to each result as it comes in."""
    from threaddoctor import baseline

    def adjust(result: ScanResult) -> ScanResult:
        (result,) = baseline.override_severity([result], severities)
        return baseline.apply([result], known)[0] if known is not None else result

    return adjust


def _count(counts: dict[str, int], result: ScanResult) -> None:
    counts["files"] += 1
    counts["findings"] += len(result.findings)
    counts["unreadable"] += result.unreadable is not None
    # Information (a reconnect that recovered, say) is reported but never fails a build.
    counts["failing"] += any(f.severity is not Severity.info for f in result.findings)


def _chosen_rules(select: list[str] | None, ignore: list[str] | None) -> list[Rule] | None:
    """The rules --select/--ignore chose; None without them: each scan then loads only the rules
    for its source's kind."""
    from threaddoctor.rules import all_rules
    from threaddoctor.rules.selection import select_rules

    return select_rules(all_rules(), select, ignore) if select or ignore else None


def _targets(paths: list[Path] | None, example: bool, announce: bool) -> list[Path]:
    if paths:
        return paths
    if example:
        return [example_path()]
    from threaddoctor.sources.locations import discover, places

    found = discover()
    if not found:
        raise InputError(f"no agent state found (looked in {', '.join(places())}); pass a path")
    if announce:
        counts = ", ".join(f"{tool}: {len(files)}" for tool, files in found.items())
        err.print(
            f"threaddoctor: scanning {sum(map(len, found.values()))} file(s) ({counts})", markup=False, soft_wrap=True
        )
    return [p for files in found.values() for p in files]


def _severities(cfg: config.Config) -> dict[str, str]:
    """Config severity overrides keyed by rule code; unknown rules are an error."""
    from threaddoctor.rules import get_rule

    return {get_rule(key).code: value for key, value in cfg.severity.items()}


@app.command("export")
def export_command(
    path: Annotated[Path | None, typer.Argument(help="state.sqlite to export (default: T3 Code's own)")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The .jsonl (or .jsonl.gz) file to write")] = ...,
    thread: Annotated[
        list[str] | None, typer.Option("--thread", "-t", help="Export only these threads", metavar="<thread>")
    ] = None,
    redact: Annotated[
        bool, typer.Option("--redact", help="Replace message text, tool output, paths and titles with placeholders")
    ] = False,
) -> None:
    """Export a database as portable JSONL: every event, and the projection rows the rules read."""
    from threaddoctor.rules.selection import split_patterns
    from threaddoctor.sources.t3code import export as t3_export

    try:
        summary = t3_export.export(_resolve_path(path, example=False), output, split_patterns(thread) or None, redact)
    except ThreadDoctorError as e:
        raise fail(str(e)) from None
    except OSError as e:
        raise fail(f"{output}: cannot write ({e.strerror})") from None
    rows = sum(v for k, v in summary.items() if k != "events")
    err.print(
        f"threaddoctor: wrote {output}: {summary['events']} events, {rows} projection rows"
        + (", redacted" if redact else ""),
        markup=False,
        soft_wrap=True,
    )


@app.command("baseline")
def baseline_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Databases or exported logs")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The baseline file to write")] = ...,
    select: Annotated[
        list[str] | None, typer.Option("--select", "-s", help="Only these rules", metavar="<rule>")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", "-i", help="Skip these rules", metavar="<rule>")
    ] = None,
) -> None:
    """Write a baseline of the current findings: `scan --baseline FILE` then reports only new ones."""
    from threaddoctor import baseline, config

    try:
        cfg = config.load()
        rules = _chosen_rules(select or cfg.select, ignore or cfg.ignore)
        results = [_scan_one(t, rules) for t in _targets(paths, False, False)]
        known = baseline.from_results(results)
        baseline.write(output, known)
    except ThreadDoctorError as e:
        raise fail(str(e)) from None
    except OSError as e:
        raise fail(f"{output}: cannot write ({e.strerror})") from None
    err.print(f"threaddoctor: wrote {output} with {len(known.findings)} finding(s)", markup=False, soft_wrap=True)


@app.command("fix")
def fix_command(
    path: Annotated[Path | None, typer.Argument(help="state.sqlite to repair (default: T3 Code's own)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show exactly what would change; write nothing")] = False,
    select: Annotated[
        list[str] | None, typer.Option("--select", "-s", help="Only repair these rules", metavar="<rule>")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", "-i", help="Do not repair these rules", metavar="<rule>")
    ] = None,
    thread: Annotated[
        list[str] | None, typer.Option("--thread", "-t", help="Only repair these threads", metavar="<thread>")
    ] = None,
    unsafe_fixes: Annotated[bool, typer.Option("--unsafe-fixes", help="Also apply repairs classed unsafe")] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format")] = Format.text,
) -> None:
    """Repair what scan finds: dry run, or one verified transaction with a backup and an undo."""
    from threaddoctor.fix import run as fix_run
    from threaddoctor.fix.files import repair_file
    from threaddoctor.fix.plan import Selection
    from threaddoctor.report import fix_text, json_report
    from threaddoctor.rules.selection import split_patterns
    from threaddoctor.sources.detect import kind_of

    selection = Selection(unsafe=unsafe_fixes, threads=split_patterns(thread))
    try:
        target = _resolve_path(path, example=False)
        kind = kind_of(target)
        if kind in ("t3code-export", "t3code-v2-export"):
            raise UsageError(f"{target}: an export is a report, not state; repair the database it came from")
        if kind not in ("t3code-db", "t3code-export"):
            file_report = repair_file(target, kind, select, ignore, selection, dry_run=dry_run)
        else:
            run = fix_run.dry_run if dry_run else fix_run.fix
            report = run(target, select=select, ignore=ignore, selection=selection)
    except ThreadDoctorError as e:
        raise fail(str(e)) from None
    except OSError as e:
        raise fail(f"{e.filename}: cannot write ({e.strerror}); nothing was changed") from None
    if kind not in ("t3code-db", "t3code-export"):
        _render_file_fix(file_report, fmt)
        raise typer.Exit(
            Exit.ERROR
            if file_report.problems
            else Exit.FINDINGS
            if [f for f in (file_report.findings if dry_run else file_report.after) if f.severity is not Severity.info]
            else Exit.CLEAN
        )
    if fmt is Format.json:
        out.print(json_report.dumps(json_report.fix_document(report)), markup=False, soft_wrap=True)
    else:
        fix_text.render_fix(report, out)
    remaining = report.findings if dry_run or report.outcome is None else report.outcome.after
    raise typer.Exit(Exit.FINDINGS if remaining else Exit.CLEAN)


def _render_file_fix(report: FileFixReport, fmt: Format) -> None:
    from threaddoctor.report import fix_text, json_report

    if fmt is Format.json:
        out.print(json_report.dumps(report.model_dump(mode="json")), markup=False, soft_wrap=True)
    else:
        fix_text.render_file_fix(report, out)


@app.command("undo")
def undo_command(
    path: Annotated[Path | None, typer.Argument(help="the repaired state.sqlite (default: T3 Code's own)")] = None,
    repair: Annotated[
        str | None, typer.Option("--repair", "-r", help="Repair id to revert (default: the last)", metavar="<id>")
    ] = None,
) -> None:
    """Revert the last repair, or a named one, while the app has not yet run on the database."""
    from threaddoctor.fix import run as fix_run
    from threaddoctor.fix.files import undo_file
    from threaddoctor.report import fix_text
    from threaddoctor.sources.detect import kind_of

    try:
        target = _resolve_path(path, example=False)
        if kind_of(target) not in ("t3code-db", "t3code-export"):
            entry = undo_file(target, repair)
            out.print(
                f"Undid repair {entry.repair_id}: {target} is again as it was (the repaired copy is gone; "
                f"the original stays at {entry.backup}).",
                markup=False,
                soft_wrap=True,
            )
            return
        report = fix_run.undo(target, repair)
    except ThreadDoctorError as e:
        raise fail(str(e)) from None
    fix_text.render_undo(report, out)


@app.command("rules")
def list_rules(fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format")] = Format.text) -> None:
    """List every rule: code, name, severity, fix safety."""
    from threaddoctor.report import json_report, text
    from threaddoctor.rules import all_rules

    rules = list(all_rules())
    if fmt is Format.json:
        out.print(
            json_report.dumps([json_report.rule_dict(r) for r in rules]),
            markup=False,
            soft_wrap=True,
        )
    else:
        text.render_rules(rules, out)


@app.command()
def explain(code: Annotated[str, typer.Argument(help="Rule code or name, e.g. T3001")]) -> None:
    """Explain one rule: what it detects, why it matters, what its repair does."""
    from threaddoctor.report import text
    from threaddoctor.rules import get_rule

    try:
        rule = get_rule(code)
    except ThreadDoctorError as e:
        raise fail(str(e)) from None
    text.render_explain(rule, out)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("threaddoctor: interrupted")
        sys.exit(130)
