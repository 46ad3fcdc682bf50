"""What the editor shows for each script line. Every state has its own icon shape and a word, never colour alone."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class LineState(Enum):
    MISSING = "missing"  # no take yet
    QUEUED = "queued"  # waiting in the generation queue
    GENERATING = "generating"  # the engine is on it now
    DONE = "done"  # the active take matches the current text, voice and parameters
    STALE = "stale"  # the active take was made from other text, voice or parameters
    FAILED = "failed"  # the last attempt raised an error
    CHECK_FAILED = "check failed"  # done, but the active take failed its check (words missing, long silence...)

    @property
    def label(self) -> str:
        return {
            LineState.MISSING: "Not generated yet",
            LineState.QUEUED: "Queued",
            LineState.GENERATING: "Generating",
            LineState.DONE: "Done",
            LineState.STALE: "Stale: the text, voice or settings changed since this take",
            LineState.FAILED: "Failed",
            LineState.CHECK_FAILED: "Done, but the take check failed",
        }[self]


@dataclass(frozen=True)
class LineView:
    """Everything the gutter needs to draw one script line."""

    state: LineState
    speaker: str | None = None  # "S1" / "S2": who opens the line
    estimated_seconds: float | None = None
    take_seconds: float | None = None  # duration of the active take, when there is one
    progress: float | None = None  # 0..1 while generating
    detail: str = ""  # error message, take summary, ...

    def tooltip(self) -> str:
        parts = [self.state.label]
        if self.state is LineState.GENERATING and self.progress is not None:
            parts[0] += f" — {round(self.progress * 100)}%"
        if self.detail:
            parts.append(self.detail)
        if self.take_seconds is not None:
            parts.append(f"Active take: {self.take_seconds:.2f} s")
        if self.estimated_seconds is not None:
            parts.append(f"Estimated length: {self.estimated_seconds:.1f} s")
        return "\n".join(parts)
