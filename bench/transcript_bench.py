"""Scan 200 MB Claude Code transcripts of three shapes as whole programs, beside a plain per-line json.loads.

    python bench/transcript_bench.py [--runs N] [--shape S]   # builds bench/data/transcript-*-200mb.jsonl once

The files are grown from a transcript the real Claude Code CLI wrote (fixtures/claude/recorded/
interactive_tool), in the shapes of log_shapes.py, and measured by log_measure.py.
Target, on every shape: the scan takes at most 0.3 x the plain parse, and peak memory < 150 MB.
"""

from __future__ import annotations

import sys

from log_measure import main

if __name__ == "__main__":
    sys.exit(main("transcript"))
