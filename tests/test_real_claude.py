"""Transcripts written by the real Claude Code CLI (2.1.197, recorded offline by
fixtures/claude/record.py; what each shows is in fixtures/claude/FINDINGS.md) are diagnosed as what
happened to them: the healthy ones report nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import aged_copy, written_ago
from threaddoctor import scan

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "claude" / "recorded"
KILLED = "kill_during_tool/dacb32f2-79ec-473e-85df-e875a28daa2c.jsonl"

# Every transcript of every scenario, and what a doctor must say of it.
EXPECTED: dict[str, set[str]] = {
    # -p runs that finished: prompt, attachments, answer (and a Bash call answered by its result).
    "text/5897f30a-741d-4d5f-b229-099d2a99aca0.jsonl": set(),
    "tool/686cee7e-637c-45bb-bd87-8736ca8aff71.jsonl": set(),
    # SIGKILL while Bash ran: the file ends with the tool_use line, no result.
    KILLED: {"CC001"},
    # The same killed file before `--resume` (strict and lenient mocks); after it, 2.1.197 re-parented
    # the new prompt on the text line of the same message, so the orphan sits on a dead branch. The
    # call is lost to the model, but the session is healthy and nothing in it can be repaired any
    # more: nothing is reported.
    "resume_orphan/strict/dacb32f2-79ec-473e-85df-e875a28daa2c.before.jsonl": {"CC001"},
    "resume_orphan/strict/dacb32f2-79ec-473e-85df-e875a28daa2c.after.jsonl": set(),
    "resume_orphan/lenient/dacb32f2-79ec-473e-85df-e875a28daa2c.before.jsonl": {"CC001"},
    "resume_orphan/lenient/dacb32f2-79ec-473e-85df-e875a28daa2c.after.jsonl": set(),
    # Hand-repaired with an error tool_result parented on the orphan: answered, and the chain ends on
    # a user line, as any interrupted turn does; after resume the CLI went on from it.
    "resume_repaired/dacb32f2-79ec-473e-85df-e875a28daa2c.repaired.jsonl": set(),
    "resume_repaired/dacb32f2-79ec-473e-85df-e875a28daa2c.after.jsonl": set(),
    # 529 with retries disabled: the chain ends in the isApiErrorMessage line; resume went on.
    "api_error/537244e3-9a37-435b-a7a3-894a1c1ea265.after_error.jsonl": {"CC003"},
    "api_error/537244e3-9a37-435b-a7a3-894a1c1ea265.after_resume.jsonl": set(),
    # A 529 that a retry recovered leaves no trace in the transcript.
    "api_error_retry/60b2c41a-a556-4f83-865f-24ef5f686bad.jsonl": set(),
    # -p SIGINT mid-stream: the transcript ends with the prompt and its attachments, no answer and
    # no marker. The prompt went unanswered, but no rule judges that: resume handles it as any
    # interrupted turn ("Continue from where you left off.") and nothing in the file is wrong.
    "interrupt_stream/a785e170-f5e3-45b1-a6ca-f095bcdd3807.after_interrupt.jsonl": set(),
    "interrupt_stream/a785e170-f5e3-45b1-a6ca-f095bcdd3807.after_resume.jsonl": set(),
    # Interactive turn with a Stop hook: ends stop_hook_summary -> turn_duration.
    "interactive_tool/13720fa4-5a0e-4d78-92ac-75f8dc60ac92.jsonl": set(),
    # Escape mid-stream: a synthetic partial answer and "[Request interrupted by user]", a clean end.
    "interactive_esc_stream/bf98ea0e-b231-4262-8556-ae1c95ff085e.jsonl": set(),
    "interactive_esc_stream/bf98ea0e-b231-4262-8556-ae1c95ff085e.after_resume.jsonl": set(),
    # Escape while Bash ran: the CLI wrote the rejected tool_result itself. The assistant lines are
    # written before the prompt they answer (file order is not chain order): not a broken link.
    "interactive_esc_during_tool/a9c2149f-c62e-4a5d-a15f-760627480709.jsonl": set(),
    "interactive_esc_during_tool/a9c2149f-c62e-4a5d-a15f-760627480709.after_resume.jsonl": set(),
    # SIGKILL of the interactive CLI while Bash ran: as in -p; the resume dropped the orphan.
    "interactive_kill_during_tool/6968bfe8-bd70-4b27-888d-f350f22bf105.jsonl": {"CC001"},
    "interactive_kill_during_tool/6968bfe8-bd70-4b27-888d-f350f22bf105.after_resume.jsonl": set(),
    # threaddoctor's own repair, then a real `claude --resume` against a strict mock (it was accepted)
    "resume_after_threaddoctor/41269efa-1b28-4bea-b6fc-3489bb1f4c5f.before_fix.jsonl": {"CC001"},
    "resume_after_threaddoctor/41269efa-1b28-4bea-b6fc-3489bb1f4c5f.after_fix.jsonl": set(),
    "resume_after_threaddoctor/41269efa-1b28-4bea-b6fc-3489bb1f4c5f.after_resume.jsonl": set(),
    # Compaction (fixtures/claude/record_more.py): a healthy one, non-interactive and interactive,
    # an orphan after the boundary, and a kill before `/compact`, after which the CLI's boundary
    # points at the orphan's text sibling, leaving the tool_use on a dead branch.
    "compact/a3a901dd-723f-4f91-8a46-3fb576e19faf.jsonl": set(),
    "interactive_compact/4a3f7eed-db9e-449d-aa22-ce3d35bd7906.jsonl": set(),
    "compact_kill_during_tool/87e9d663-bf67-4674-9ece-cffd44cc5374.jsonl": {"CC001"},
    "compact_after_kill/ecaf53d0-386e-4226-9699-e53783ca666c.jsonl": set(),
    # Subagents: each file on its own; a kill leaves an orphan Agent call in the main file and an
    # orphan Bash call in the subagent's.
    "subagent/6bf134c4-625a-4cea-aaab-3d3d4690c624.jsonl": set(),
    "subagent/6bf134c4-625a-4cea-aaab-3d3d4690c624/subagents/agent-a4595e393ca93445e.jsonl": set(),
    "subagent_kill/35b26832-e5a0-49a0-8e09-89fabfbb02fc.jsonl": {"CC001"},
    "subagent_kill/35b26832-e5a0-49a0-8e09-89fabfbb02fc/subagents/agent-a984d97bd6c66e7cc.jsonl": {"CC001"},
    # The transcripts beside the stream-json run logs of fixtures/claude/record_stream.py: partial
    # messages (healthy), retries exhausted (the chain ends in the API error line), long-lived
    # sessions fed on stdin (two clean turns; killed while Bash ran; interrupted twice, cleanly).
    "stream_partial/4c4834c6-cfc7-4d8b-b8f0-8c7c56024157.jsonl": set(),
    "retries_exhausted/b44bbf05-a234-41ef-b97a-24eb12a1a50d.jsonl": {"CC003"},
    "session_two_prompts/c4f83814-71ad-4167-925f-5aef4eeb1c1b.jsonl": set(),
    "session_killed/bf8261aa-c24b-4f5d-8fc4-1b7509399407.jsonl": {"CC001"},
    "session_interrupt/d05b0398-0cac-4991-b2f7-4a67bf1f88ed.jsonl": set(),
}


def _transcript(name: str, tmp_path: Path, age: float = 3600) -> Path:
    return aged_copy(RECORDED / name, tmp_path, age)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_transcripts(name: str, tmp_path: Path) -> None:
    result = scan(_transcript(name, tmp_path))
    assert result.source_kind == "claude-transcript"
    assert {f.rule for f in result.findings} == EXPECTED[name]
    for f in result.findings:
        assert f.thread_id and f.thread_id in name  # a subagent file sits in its session's folder
        assert f.location.line and f.location.line > 1


def test_the_killed_tool_use_is_the_finding(tmp_path: Path) -> None:
    (finding,) = scan(_transcript(KILLED, tmp_path)).findings
    assert finding.subject == "toolu_mock_0001_41b04c1d" and finding.location.line == 7


def test_a_transcript_written_moments_ago_is_not_judged(tmp_path: Path) -> None:
    result = scan(written_ago(RECORDED / KILLED, tmp_path, 5))
    assert result.findings == [] and [u.rule for u in result.unjudged] == ["CC001"]


def test_a_fresh_copy_of_a_killed_session_is_judged(tmp_path: Path) -> None:
    """The copy's mtime is now; its lines say the session was killed weeks ago."""
    assert {f.rule for f in scan(_transcript(KILLED, tmp_path, age=0)).findings} == {"CC001"}


def test_every_recorded_transcript_is_covered() -> None:
    recorded = {
        str(p.relative_to(RECORDED))
        for p in RECORDED.rglob("*.jsonl")
        if not p.name.startswith(("mock_requests", "run.", "resume.")) and not p.name.endswith(".stdout.jsonl")
    }
    assert recorded == set(EXPECTED)


@pytest.mark.parametrize("name", ["compact", "interactive_compact"])
def test_prompts_are_what_a_person_typed(name: str) -> None:
    """The compaction summary and the `/compact` command lines start no turn (liveness and CC003
    look for the current turn's prompt)."""
    import json

    from threaddoctor.sources.claude.transcript import open_transcript

    (path,) = (p for p in (RECORDED / name).glob("*.jsonl") if "-" in p.stem and "stdout" not in p.name)
    lines = path.read_text().splitlines()
    src = open_transcript(path)
    typed = [json.loads(lines[e.line - 1])["message"]["content"] for e in src.chain if e.prompt]
    assert typed == [
        "Run echo hi with Bash. SCENARIO_TOOL",
        "Say hello. SCENARIO_TEXT",
        "Say hello again. SCENARIO_TEXT",
    ]
