"""What the line inspector shows, derived from the document in one pure function (no widgets, no Qt).

The inspector calls `inspect_line` every time anything it shows may have changed (the script text, the
project's or the line's sampling, the voices, the takes, the line's live state), so it can never show an
older version of the line than the editor does."""

from __future__ import annotations

from dataclasses import dataclass

from gui.line_state import LineState, LineView
from projects.catalogue import model_title
from projects.model import Sampling
from projects.sampling import summary, tooltip
from projects.takes import take_available

NO_TAKE_PLACEHOLDER = "No take yet — press Generate (Ctrl+Enter)"
GENERATE_TIP = "Generate a new take of this line (Ctrl+Enter)"


def sampling_summary(sampling: Sampling, info=None) -> str:
    """The values (the model family's defaults filled in when `info` describes the model)."""
    return summary(sampling.model_dump(), info)


def sampling_tooltip(sampling: Sampling, info=None) -> str:
    return tooltip(sampling.model_dump(), info)


@dataclass(frozen=True)
class TakeRow:
    take_id: str
    active: bool
    seed: int
    model: str  # the model that made the take, by name (its id in the tooltip)
    model_id: str
    sampling: str  # summary
    sampling_tooltip: str
    length: str
    made: str  # local time
    file_missing: str = ""  # the reason, when the take's audio file is gone


@dataclass(frozen=True)
class InspectorModel:
    line_id: str | None
    title: str
    text: str  # what the model reads for the line
    takes: tuple[TakeRow, ...] = ()
    active_take: str | None = None
    seed: int = 0
    pinned: bool = False
    project_sampling: str = ""  # summary of the project's sampling
    line_sampling: Sampling | None = None  # the line's own override, if any
    issues: tuple[str, ...] = ()  # this line's script checks, in words
    generate_label: str = "Generate"
    state_text: str = ""  # the gutter's tooltip on one line
    state: LineState | None = None
    progress: float | None = None
    can_generate: bool = False
    generate_tooltip: str = GENERATE_TIP
    speaker: str | None = None

    @property
    def has_line(self) -> bool:
        return self.line_id is not None


EMPTY = InspectorModel(None, "No line selected", "Put the cursor on a script line to see its takes.")


def inspect_line(project, line_id: str | None, view: LineView | None = None, *, blocked: str = "",
                 info=None) -> InspectorModel:
    """The inspector's content for `line_id` as the project is now. `view` is the line's gutter state (live
    generation included); `blocked` says why the line cannot be generated now ("" when it can); `info` describes
    the project's model (its limits and sampling defaults), None while it is not known."""
    line = project.doc.line(line_id) if line_id else None
    if line is None:
        return EMPTY
    parsed = project.script_line(line.id)
    speaker = project.doc.speakers[parsed.speaker]
    rows = tuple(
        TakeRow(take.id, take.id == line.active_take, take.seed, model_title(take.model_id), take.model_id,
                sampling_summary(take.sampling), sampling_tooltip(take.sampling), f"{take.duration:.2f} s",
                take.created.astimezone().strftime("%H:%M:%S"),
                "" if take_available(project.folder, take) else f"The audio file {take.file} is missing")
        for take in line.takes  # oldest first, as Alt+Up / Alt+Down step
    )
    issues = tuple(issue.message for issue in project.lint(info) if issue.source_line == parsed.source_line)
    return InspectorModel(
        line_id=line.id,
        title=f"{line.id} · {speaker.name} ({parsed.speaker}) · script line {parsed.source_line}",
        text=parsed.model_text,
        takes=rows,
        active_take=line.active_take,
        seed=shown_seed(line),
        pinned=line.pinned,
        project_sampling=sampling_summary(project.sampling(), info),
        line_sampling=line.sampling,
        issues=((f"Cannot generate: {blocked}",) if blocked else ()) + issues,
        generate_label="Regenerate" if line.takes else "Generate",
        speaker=parsed.speaker,
        **state_fields(view, blocked),
    )


def state_fields(view: LineView | None, blocked: str = "") -> dict:
    """The part of the model that follows the line's live state (updated alone while a line generates)."""
    busy = view is not None and view.state in (LineState.QUEUED, LineState.GENERATING)
    if blocked:
        tooltip = blocked
    elif busy:
        tooltip = "This line is already queued or generating"
    else:
        tooltip = GENERATE_TIP
    return dict(state_text=view.tooltip().replace("\n", " · ") if view is not None else "",
                state=view.state if view is not None else None,
                progress=view.progress if view is not None else None,
                can_generate=not busy and not blocked, generate_tooltip=tooltip)


def shown_seed(line) -> int:
    """The pinned seed of a pinned line; else the seed of the take heard (the line's own seed is separate)."""
    active = line.take(line.active_take)
    if (line.pinned or active is None) and line.seed is not None:
        return line.seed
    return active.seed if active is not None else 0
