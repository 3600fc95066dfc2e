"""Scan a 200 MB Claude Code transcript: wall time and peak memory beside a plain per-line json.loads.

    python bench/transcript_bench.py       # builds bench/data/transcript-200mb.jsonl once, then measures

The file is grown from a transcript the real Claude Code CLI wrote (fixtures/claude/recorded/
interactive_tool): its header once, then its turn (snapshot, prompt, assistant text, tool_use,
tool_result, answer, stop-hook and duration lines, last-prompt) repeated with fresh uuids, message
and tool ids, each prompt chained to the turn before, tool output and answers of realistic sizes
in UTF-8 as Claude Code writes it. The last turn stops after its tool_use (a kill during the tool),
so the scan has something to find. Measured by log_measure.py.
"""

from __future__ import annotations

import json
import random
import re
import sys
import uuid

from log_measure import DATA, ROOT, bench, built

TARGET = DATA / "transcript-200mb.jsonl"
SIZE = 200_000_000
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_IDS = re.compile(r"(msg|toolu|req)_mock_\w+")


def template() -> tuple[list[str], list[dict], str]:
    """The recorded transcript: header lines, one turn's records, and the session id."""
    (path,) = (p for p in (ROOT / "fixtures/claude/recorded/interactive_tool").glob("*.jsonl") if "mock" not in p.name)
    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    prompt = next(i for i, r in enumerate(records) if r.get("type") == "user")
    turn = [r for r in records[prompt - 1 :] if r.get("type") != "attachment"]  # listings come once
    return lines[: prompt - 1], turn, records[prompt]["sessionId"]


def build() -> None:
    header, turn, session = template()
    rng = random.Random(7)
    DATA.mkdir(parents=True, exist_ok=True)
    size, n, parent = 0, 0, None
    with TARGET.open("w", encoding="utf-8") as f:
        for line in header:
            f.write(line + "\n")
        while True:
            n += 1
            final = size >= SIZE
            fresh: dict[str, str] = {session: session}
            text = json.dumps(turn, ensure_ascii=False)
            text = _UUID.sub(lambda m, ids=fresh: ids.setdefault(m[0], str(uuid.UUID(int=rng.getrandbits(128)))), text)
            text = _IDS.sub(
                lambda m, ids=fresh, n=n: ids.setdefault(m[0], f"{m[1]}_{n:07d}_{rng.getrandbits(32):08x}"), text
            )
            records = json.loads(text)
            output = ("drwxr-xr-x  src → build ok\n" * 150)[: 600 + (n * 53) % 3500]
            for r in records:
                content = r.get("message", {}).get("content")
                if r.get("uuid"):  # one chain: each line follows the one before, across turns
                    r["parentUuid"] = parent
                if isinstance(content, list) and content and content[0].get("type") == "tool_result":
                    content[0]["content"] = output
                    r["toolUseResult"]["stdout"] = output
                elif isinstance(content, list) and content and content[0].get("type") == "text":
                    content[0]["text"] = "Here is what I found — " + "the build passes. " * (10 + n % 120)
                if r.get("uuid"):
                    parent = r["uuid"]
            for r in records:
                line = json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"
                f.write(line)
                size += len(line.encode())
                content = r.get("message", {}).get("content")
                if final and isinstance(content, list) and content[0].get("type") == "tool_use":
                    break  # killed while the tool ran: a tool_use without its result
            if final:
                break
    built(TARGET, size, n)


if __name__ == "__main__":
    sys.exit(bench(TARGET, build))
