"""Checks on a script before generating it: per-line warnings the editor shows and errors that block a render.

Length limits and estimates come from the model's description (`dia_engine.ModelInfo`); without one (the model
cannot be described yet: not downloaded and offline) only the checks that need no model run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dia_engine import ModelInfo

from .estimate import estimate_seconds
from .limits import MIN_SPEECH_SECONDS, MIN_TEXT_UNITS, seconds_budget, text_budget
from .script import Script, ScriptLine
from .split import split_for_model
from .tags import unknown_tags

SHORT_SECONDS = 5.0  # Dia tends to rush or invent words on very short text with nothing before it
LONG_SHARE = 0.55  # past this share of the model's longest generation, quality drops (Dia 1.6B: about 20 s)

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class LintIssue:
    source_line: int  # 1-based line of the script text; 0 for the script as a whole
    severity: Severity
    code: str  # stable identifier: "empty-script", "first-speaker", "unknown-tag", "speaker-tag",
    #            "short", "long", "split", "voice-transcripts", "voice-length"
    message: str

    def __str__(self) -> str:
        where = f"line {self.source_line}: " if self.source_line else ""
        return f"{where}{self.message}"


def parts_needed(line: ScriptLine, info: ModelInfo, *, prompt_transcript: str = "", prompt_frames: int = 0) -> list[str]:
    """The model texts the line is generated as (one part unless it is over the model's limits)."""
    return split_for_model(line.turns, info, max_text=text_budget(info, prompt_transcript),
                           max_seconds=seconds_budget(info, prompt_frames))


def long_seconds(info: ModelInfo) -> float:
    """Estimated length past which a line gets the "long" warning."""
    return round(info.max_seconds * LONG_SHARE)


def lint_line(line: ScriptLine, info: ModelInfo | None, *, prompt_transcript: str = "",
              prompt_frames: int = 0) -> list[LintIssue]:
    issues: list[LintIssue] = []
    n = line.source_line
    for tag in unknown_tags(line.spoken_text):
        issues.append(LintIssue(n, "warning", "unknown-tag", f"({tag}) is not one of Dia's non-verbal tags"))
    for tag in dict.fromkeys(line.odd_speaker_tags):
        issues.append(LintIssue(n, "warning", "speaker-tag", f"{tag} is read as plain text: Dia knows [S1] and [S2]"))
    if info is None:
        return issues
    seconds = estimate_seconds(line.spoken_text, info)
    if seconds < SHORT_SECONDS and not prompt_transcript:
        issues.append(LintIssue(
            n, "warning", "short",
            f"about {seconds:.1f} s of speech with no voice clip before it: {info.family_name} may rush or invent "
            "words (join it with a neighbouring line or give the speakers reference clips)",
        ))
    if seconds > long_seconds(info):
        issues.append(LintIssue(n, "warning", "long", f"about {seconds:.0f} s of speech: {info.family_name} is best "
                                                      f"under {long_seconds(info):.0f} s"))
    room = text_budget(info, prompt_transcript) >= MIN_TEXT_UNITS
    if room and seconds_budget(info, prompt_frames) >= MIN_SPEECH_SECONDS:
        parts = parts_needed(line, info, prompt_transcript=prompt_transcript, prompt_frames=prompt_frames)
        if len(parts) > 1:
            issues.append(LintIssue(
                n, "info", "split",
                f"over the model's limit: generated in {len(parts)} parts split at sentences and crossfaded",
            ))
    return issues


def lint_script(script: Script, info: ModelInfo | None, *, prompt_transcript: str = "",
                prompt_frames: int = 0) -> list[LintIssue]:
    """All issues of a script, script-wide ones first. `prompt_*` describe the speakers' voice clips, if any;
    `info` describes the model (None: its limits are not known yet and are not checked)."""
    issues: list[LintIssue] = []
    if not script.lines:
        return [LintIssue(0, "error", "empty-script", "the script has no lines to speak")]
    if info is not None:
        budget = text_budget(info, prompt_transcript)
        if budget < MIN_TEXT_UNITS:
            issues.append(LintIssue(
                0, "error", "voice-transcripts",
                f"the voice clips' transcripts take {info.text_limit - budget} of the model's {info.text_limit} "
                f"{info.text_unit} of text, leaving no room for the lines: use shorter clips",
            ))
        if seconds_budget(info, prompt_frames) < MIN_SPEECH_SECONDS:
            issues.append(LintIssue(
                0, "error", "voice-length",
                f"the voice clips last {prompt_frames / info.frames_per_second:.0f} s together, leaving no room for "
                f"speech in the model's {info.max_seconds:.0f} s of audio: use clips of about 5-10 s",
            ))
    first = script.lines[0]
    if not script.starts_with_speaker_tag:
        issues.append(LintIssue(first.source_line, "warning", "first-speaker",
                                "the first line has no speaker tag: it is read as [S1]"))
    elif first.speaker != "S1":
        issues.append(LintIssue(first.source_line, "warning", "first-speaker",
                                "the script should start with [S1]: Dia expects S1 to speak first"))
    for line in script.lines:
        issues.extend(lint_line(line, info, prompt_transcript=prompt_transcript, prompt_frames=prompt_frames))
    return issues
