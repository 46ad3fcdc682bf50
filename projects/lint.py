"""Checks on a script before generating it: per-line warnings the editor shows and errors that block a render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dia_engine import FRAMES_PER_SECOND

from .estimate import estimate_seconds
from .limits import MAX_TEXT_BYTES, MIN_SPEECH_SECONDS, MIN_TEXT_BYTES, seconds_budget, text_budget
from .script import Script, ScriptLine
from .split import split_for_model
from .tags import unknown_tags

SHORT_SECONDS = 5.0  # Dia tends to rush or invent words on very short text with nothing before it
LONG_SECONDS = 20.0  # past this, quality drops and the line runs into the model's audio length

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


def parts_needed(line: ScriptLine, *, prompt_transcript: str, prompt_frames: int, max_text_bytes: int) -> list[str]:
    """The model texts the line is generated as (one part unless it is over the model's limits)."""
    return split_for_model(
        line.turns, max_bytes=text_budget(prompt_transcript, max_text_bytes), max_seconds=seconds_budget(prompt_frames)
    )


def lint_line(
    line: ScriptLine,
    *,
    prompt_transcript: str = "",
    prompt_frames: int = 0,
    max_text_bytes: int = MAX_TEXT_BYTES,
) -> list[LintIssue]:
    issues: list[LintIssue] = []
    n = line.source_line
    for tag in unknown_tags(line.spoken_text):
        issues.append(LintIssue(n, "warning", "unknown-tag", f"({tag}) is not one of Dia's non-verbal tags"))
    for tag in dict.fromkeys(line.odd_speaker_tags):
        issues.append(LintIssue(n, "warning", "speaker-tag", f"{tag} is read as plain text: Dia knows [S1] and [S2]"))
    seconds = estimate_seconds(line.spoken_text)
    if seconds < SHORT_SECONDS and not prompt_transcript:
        issues.append(LintIssue(
            n, "warning", "short",
            f"about {seconds:.1f} s of speech with no voice clip before it: Dia may rush or invent words "
            "(join it with a neighbouring line or give the speakers reference clips)",
        ))
    if seconds > LONG_SECONDS:
        issues.append(LintIssue(n, "warning", "long",
                                f"about {seconds:.0f} s of speech: Dia is best under {LONG_SECONDS:.0f} s"))
    room = text_budget(prompt_transcript, max_text_bytes) >= MIN_TEXT_BYTES
    if room and seconds_budget(prompt_frames) >= MIN_SPEECH_SECONDS:
        parts = parts_needed(line, prompt_transcript=prompt_transcript, prompt_frames=prompt_frames,
                             max_text_bytes=max_text_bytes)
        if len(parts) > 1:
            issues.append(LintIssue(
                n, "info", "split",
                f"over the model's limit: generated in {len(parts)} parts split at sentences and crossfaded",
            ))
    return issues


def lint_script(
    script: Script,
    *,
    prompt_transcript: str = "",
    prompt_frames: int = 0,
    max_text_bytes: int = MAX_TEXT_BYTES,
) -> list[LintIssue]:
    """All issues of a script, script-wide ones first. `prompt_*` describe the speakers' voice clips, if any."""
    issues: list[LintIssue] = []
    if not script.lines:
        return [LintIssue(0, "error", "empty-script", "the script has no lines to speak")]
    budget = text_budget(prompt_transcript, max_text_bytes)
    if budget < MIN_TEXT_BYTES:
        issues.append(LintIssue(
            0, "error", "voice-transcripts",
            f"the voice clips' transcripts take {max_text_bytes - budget} of the model's {max_text_bytes} bytes "
            "of text, leaving no room for the lines: use shorter clips",
        ))
    if seconds_budget(prompt_frames) < MIN_SPEECH_SECONDS:
        issues.append(LintIssue(
            0, "error", "voice-length",
            f"the voice clips last {prompt_frames / FRAMES_PER_SECOND:.0f} s together, leaving no room for speech in "
            "the model's 35 s of audio: use clips of about 5-10 s",
        ))
    first = script.lines[0]
    if not script.starts_with_speaker_tag:
        issues.append(LintIssue(first.source_line, "warning", "first-speaker",
                                "the first line has no speaker tag: it is read as [S1]"))
    elif first.speaker != "S1":
        issues.append(LintIssue(first.source_line, "warning", "first-speaker",
                                "the script should start with [S1]: Dia expects S1 to speak first"))
    for line in script.lines:
        issues.extend(lint_line(line, prompt_transcript=prompt_transcript, prompt_frames=prompt_frames,
                                max_text_bytes=max_text_bytes))
    return issues
