"""Codex's own turn-lifecycle rules, replayed over a rollout's events in order.

Mirrors `RolloutTurnLifecycleTracker` in codex-rs/rollout/src/turn_lifecycle.rs (commit 9285b7b,
read through the search tool; the reference §1.4 summarises it):
- `task_started` finishes the current turn, whatever its state, and opens an explicit one;
- `task_complete` finishes the current turn when it names it, is ignored when it names a turn
  that already finished, and otherwise still finishes the current turn;
- `turn_aborted` (and an `error` whose kind affects the turn) marks the current explicit turn
  terminal, which stays current until something finishes it; one naming a finished turn is ignored;
- `thread_rolled_back` finishes the current turn, then drops the last `num_turns` finished turns,
  implicit ones included (a record whose `num_turns` is no u32 does not deserialise: ignored);
- outside an explicit turn, `user_message` opens an implicit turn (or completes one that held only
  a compaction), `compacted` opens one that holds only a compaction, and an agent message, reasoning
  and the other events below make an implicit turn real. Codex also materialises turns on hook
  prompts and some guardian assessments; those are not modelled (they occur inside explicit turns
  in the files we have seen).
A turn still current, explicit and in progress at the end is what resume shows as "Working".
Beyond Codex's tracker, turn states keep why a turn ended (a `task_complete` carrying an error
makes it failed), for the rules that report failures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

# Errors that leave the turn running (ErrorEvent::affects_turn_status is false only for these).
ERRORS_THAT_KEEP_THE_TURN = {"thread_rollback_failed", "active_turn_not_steerable"}
_U32 = 2**32
# Events that make an implicit turn real (materialize_implicit_turn), when they carry text or no turn id.
_MATERIALIZE = {
    "context_compacted",
    "entered_review_mode",
    "exited_review_mode",
    "mcp_tool_call_end",
    "web_search_end",
    "image_generation_end",
    "sub_agent_activity",
    "view_image_tool_call",
    "collab_agent_spawn_end",
    "collab_agent_interaction_end",
    "collab_waiting_end",
    "collab_close_end",
    "collab_resume_end",
}
_MATERIALIZE_WITH_TEXT = {"agent_message": "message", "agent_reasoning": "text", "agent_reasoning_raw_content": "text"}
_MATERIALIZE_WITHOUT_TURN = {"patch_apply_end", "dynamic_tool_call_request", "dynamic_tool_call_response"}
# Every event type the lifecycle reads.
EVENTS = (
    {
        "task_started",
        "turn_started",
        "task_complete",
        "turn_complete",
        "turn_aborted",
        "error",
        "thread_rolled_back",
        "user_message",
    }
    | _MATERIALIZE
    | set(_MATERIALIZE_WITH_TEXT)
    | _MATERIALIZE_WITHOUT_TURN
)


class EventFields(Protocol):
    type: str | None
    turn_id: Any
    reason: Any
    error: Any
    codex_error_info: Any
    message: Any
    text: Any
    num_turns: Any


@dataclass(slots=True)
class Turn:
    turn_id: str | None
    explicit: bool
    line: int
    started_at: str
    state: str = "in_progress"  # in_progress, completed, aborted, failed
    end_line: int | None = None
    end_detail: str = ""
    rolled_back: bool = False  # dropped by thread_rolled_back: no longer part of the thread
    compaction_only: bool = False  # an implicit turn that holds only a compaction so far


@dataclass
class TurnLifecycle:
    turns: list[Turn] = field(default_factory=list)
    current: int | None = None  # index of the current turn
    finished: list[int] = field(default_factory=list)  # indexes of finished turns, in order
    _finished_ids: Counter[str] = field(default_factory=Counter)

    def event(self, lineno: int, p: EventFields, ts: str) -> None:
        etype = p.type
        if etype in ("task_started", "turn_started"):
            self._finish(lineno, "finished by the next task_started")
            self._open(p.turn_id, True, lineno, ts)
        elif etype in ("task_complete", "turn_complete"):
            self._complete(lineno, p)
        elif etype == "turn_aborted":
            if not self._names_finished(p.turn_id, current_first=True):
                self._terminal("aborted", lineno, str(p.reason or ""))
        elif etype == "error":
            info = p.codex_error_info
            name = next(iter(info), None) if isinstance(info, dict) else info if isinstance(info, str) else None
            if name not in ERRORS_THAT_KEEP_THE_TURN:
                self._terminal("failed", lineno, str(p.message or name or "error"))
        elif etype == "thread_rolled_back":
            if type(p.num_turns) is int and 0 <= p.num_turns < _U32:
                self._roll_back(lineno, p.num_turns)
        elif etype == "user_message":
            self._user_turn(lineno, ts)
        elif etype in _MATERIALIZE or (
            getattr(p, _MATERIALIZE_WITH_TEXT.get(etype, ""), None)
            or (etype in _MATERIALIZE_WITHOUT_TURN and not p.turn_id)
        ):
            self._materialize(lineno, ts)

    def compacted(self, lineno: int, ts: str) -> None:
        if self.current is None:
            self._open(None, False, lineno, ts)
            self.turns[-1].compaction_only = True

    # ---- Codex's tracker -------------------------------------------------------------------
    def _complete(self, lineno: int, p: EventFields) -> None:
        if self._names_finished(p.turn_id, current_first=True):
            return
        turn = self._current()
        if turn is not None and turn.state == "in_progress" and p.error:
            message = p.error.get("message") if isinstance(p.error, dict) else str(p.error)
            turn.state, turn.end_detail = "failed", str(message or "error")  # cli 0.169 writes failures so
        self._finish(lineno, "")

    def _names_finished(self, turn_id: Any, current_first: bool) -> bool:
        """A terminal record naming a turn that already finished, and not the current one: Codex
        ignores it."""
        turn = self._current()
        if current_first and turn is not None and turn.explicit and turn.turn_id == turn_id:
            return False
        return isinstance(turn_id, str) and self._finished_ids[turn_id] > 0

    def _terminal(self, state: str, lineno: int, detail: str) -> None:
        turn = self._current()
        if turn is not None and turn.explicit and turn.state == "in_progress":
            turn.state, turn.end_line, turn.end_detail = state, lineno, detail

    def _finish(self, lineno: int, detail: str) -> None:
        turn = self._current()
        if turn is None:
            return
        if turn.state == "in_progress":
            turn.state, turn.end_detail = "completed", detail or turn.end_detail
        if turn.end_line is None:
            turn.end_line = lineno
        self.finished.append(self.current)  # type: ignore[arg-type]
        if turn.explicit and turn.turn_id is not None:
            self._finished_ids[turn.turn_id] += 1
        self.current = None

    def _roll_back(self, lineno: int, n: int) -> None:
        self._finish(lineno, "finished by a rollback")
        start = max(len(self.finished) - n, 0)
        dropped = self.finished[start:]
        del self.finished[start:]
        for i in dropped:
            turn = self.turns[i]
            turn.rolled_back = True
            if turn.explicit and turn.turn_id is not None:
                self._finished_ids[turn.turn_id] -= 1

    def _user_turn(self, lineno: int, ts: str) -> None:
        turn = self._current()
        if turn is not None and turn.explicit:
            return
        if turn is not None and turn.compaction_only:
            turn.compaction_only = False
            return
        self._finish(lineno, "")
        self._open(None, False, lineno, ts)

    def _materialize(self, lineno: int, ts: str) -> None:
        turn = self._current()
        if turn is None:
            self._open(None, False, lineno, ts)
        elif not turn.explicit:
            turn.compaction_only = False

    def _open(self, turn_id: Any, explicit: bool, lineno: int, ts: str) -> None:
        self.turns.append(Turn(turn_id if isinstance(turn_id, str) else None, explicit, lineno, ts))
        self.current = len(self.turns) - 1

    def _current(self) -> Turn | None:
        return None if self.current is None else self.turns[self.current]
