"""Scan a 200 MB Codex rollout: wall time and peak memory beside a plain per-line json.loads.

    python bench/rollout_bench.py            # builds bench/data/rollout-200mb.jsonl once, then measures

The file is grown from a rollout the real Codex CLI wrote (fixtures/codex/recorded/tool_call): its
turns are repeated with fresh turn and call ids and ordinals, with tool outputs and assistant
messages of realistic sizes, and its last turn left open (as after a kill) so the scan has
something to find. Measured by log_measure.py.
Target: the scan takes at most 0.3 x the plain parse, and memory stays flat.
"""

from __future__ import annotations

import json
import sys

from log_measure import DATA, ROOT, bench, built

TARGET = DATA / "rollout-200mb.jsonl"
SIZE = 200_000_000


def template() -> tuple[list[dict], list[dict]]:
    """The recorded rollout split into its header and one turn's lines."""
    (path,) = (ROOT / "fixtures" / "codex" / "recorded" / "tool_call" / "rollout").rglob("rollout-*.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    start = next(i for i, r in enumerate(lines) if r["payload"].get("type") == "task_started")
    return lines[:start], lines[start:]


def build() -> None:
    header, turn = template()
    DATA.mkdir(parents=True, exist_ok=True)
    ordinal, n, size = 0, 0, 0
    with TARGET.open("w", encoding="utf-8") as f:
        for record in header:
            record["ordinal"] = ordinal
            ordinal += 1
            f.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
        while size < SIZE:
            n += 1
            for record in turn:
                text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
                text = text.replace("call_mock_1", f"call_{n}").replace('"ordinal":', '"o":')
                r = json.loads(text)
                r["ordinal"] = ordinal
                ordinal += 1
                p = r["payload"]
                if p.get("type") == "function_call_output":
                    p["output"] = ("test output line ok\n" * 120)[: 800 + (n * 37) % 3000]
                if p.get("type") == "message" and p.get("role") == "assistant":
                    p["content"] = [{"type": "output_text", "text": "Reasoned answer. " * (20 + n % 80)}]
                if p.get("turn_id"):
                    p["turn_id"] = f"turn-{n}"
                line = (
                    json.dumps(
                        {"timestamp": r["timestamp"], "ordinal": r["ordinal"], "type": r["type"], "payload": p},
                        separators=(",", ":"),
                        ensure_ascii=False,  # Codex (serde_json) writes UTF-8 as is
                    )
                    + "\n"
                )
                if size >= SIZE and p.get("type") == "task_started":
                    break
                if size + len(line) >= SIZE and p.get("type") == "task_complete":
                    continue  # leave the last turn open, as a kill would
                f.write(line)
                size += len(line)
    built(TARGET, size, n)


if __name__ == "__main__":
    sys.exit(bench(TARGET, build))
