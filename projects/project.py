"""A project folder and the operations on it: the one object the editor, the server and `render` work with.

Layout: `project.json`, `voices/` (copied reference clips), `takes/` (one WAV per take), `backups/`.
Methods change the document in memory; `save()` writes it. Two write at once: `set_speaker` copies a clip
into `voices/` (named by its content, so nothing is overwritten), and `add_take` writes the take and saves,
so an interrupted render keeps every take it finished. All methods are safe to call from a worker thread and
the UI thread.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from dia_engine import SAMPLE_RATE, ModelInfo

from . import store
from .export import ExportOptions, ExportResult, export_timeline
from .fingerprint import line_fingerprint
from .identity import match_lines
from .limits import prompt_frames
from .lint import LintIssue, lint_script
from .model import Line, ProjectFile, Sampling, Speaker, Take
from .script import Script, ScriptLine, parse_script
from .store import ProjectError
from .takes import (LineStatus, line_status, load_take_audio, next_take_name, take_available, take_path,
                    write_take_audio)
from .timeline import ClipSpec, IncompleteProjectError, Timeline, arrange
from .voices import import_clip, prompt_transcript, voices_fingerprint

KEEP_REMOVED_LINES = 200  # lines cut from the script are remembered with their takes: pasting one back restores it
_UNSET = object()


class Project:
    def __init__(self, folder: Path, doc: ProjectFile) -> None:
        self.folder = Path(folder)
        self.doc = doc
        self.lock = threading.RLock()  # held by every method; hold it to read or change `doc` in several steps
        self._script: Script | None = None
        self._sync_lines()

    # ----- opening and saving -------------------------------------------------------------------
    @classmethod
    def create(cls, folder: Path, name: str | None = None) -> Project:
        """A new project in `folder` (created if needed; it must not already hold a project). Saved at once."""
        project = cls.new(folder, name)
        if (project.folder / store.PROJECT_FILE).exists():
            raise ProjectError(f"{folder} already holds a project")
        project.save()
        return project

    @classmethod
    def new(cls, folder: Path, name: str | None = None) -> Project:
        """A new project for `folder`, not written until `save()`."""
        folder = Path(folder)
        return cls(folder, ProjectFile(name=name or folder.name or "Untitled"))

    @classmethod
    def open(cls, folder: Path) -> Project:
        """Open an existing project. Raises ProjectError, or CorruptProjectError whose `.backup` can be restored."""
        return cls(folder, store.load(Path(folder)))

    @classmethod
    def restore_backup(cls, folder: Path, backup: Path) -> Project:
        """Replace a corrupt `project.json` by `backup` (the corrupt file is kept as `project.json.corrupt`)."""
        return cls(folder, store.restore_backup(Path(folder), backup))

    def save(self) -> None:
        with self.lock:
            store.save(self.folder, self.doc)

    # ----- script ---------------------------------------------------------------------------------
    @property
    def script(self) -> Script:
        with self.lock:
            if self._script is None:
                self._script = parse_script(self.doc.script)
            return self._script

    @property
    def lines(self) -> list[Line]:
        return list(self.doc.lines)

    def line(self, line_id: str) -> Line:
        line = self.doc.line(line_id)
        if line is None:
            raise KeyError(f"no line {line_id!r} in the script")
        return line

    def script_line(self, line_id: str) -> ScriptLine:
        """The parsed script line (speaker, turns, model text, source line number) of a line id."""
        with self.lock:
            for line, parsed in zip(self.doc.lines, self.script.lines):
                if line.id == line_id:
                    return parsed
        raise KeyError(f"no line {line_id!r} in the script")

    def set_script(self, text: str) -> None:
        """Replace the script text. Lines keep their identity (and takes) across edits."""
        with self.lock:
            self.doc.script = text
            self._script = None
            self._sync_lines()

    def _sync_lines(self) -> None:
        """Match the document's line records to the parsed script after the text changed."""
        with self.lock:
            parsed = self.script.lines
            old = self.doc.lines
            if [line.text for line in old] == [p.text for p in parsed]:
                return
            mapping = match_lines([line.text for line in old], [p.text for p in parsed])
            removed_by_text = {line.text: line for line in self.doc.removed_lines}
            new_lines: list[Line] = []
            for parsed_line, index in zip(parsed, mapping):
                if index is not None:
                    line = old[index]
                elif parsed_line.text in removed_by_text:
                    line = removed_by_text.pop(parsed_line.text)
                else:
                    line = Line(id=f"L{self.doc.next_line}", text=parsed_line.text)
                    self.doc.next_line += 1
                line.text = parsed_line.text
                new_lines.append(line)
            kept = {id(line) for line in new_lines}
            dropped = [line for line in old if id(line) not in kept and line.takes]
            remaining = [line for line in self.doc.removed_lines if line.text in removed_by_text]
            self.doc.lines = new_lines
            self.doc.removed_lines = (dropped + remaining)[:KEEP_REMOVED_LINES]

    def lint(self, info: ModelInfo | None = None) -> list[LintIssue]:
        """The script's issues against the limits of the model `info` describes (None: model-free checks only)."""
        with self.lock:
            seconds = sum(s.clip_seconds or 0.0 for s in self.doc.speakers.values() if s.clip)
            frames = prompt_frames(info, seconds) if info is not None else 0
            return lint_script(self.script, info, prompt_transcript=prompt_transcript(self.doc.speakers),
                               prompt_frames=frames)

    # ----- speakers -------------------------------------------------------------------------------
    def set_speaker(self, speaker_id: str, *, name: str | None = None, clip: Path | None | object = _UNSET,
                    transcript: str | None = None) -> Speaker:
        """Change a speaker. `clip` is a file anywhere (copied into `voices/`), or None to remove the clip.

        Setting a clip requires its transcript (given here or already set). Raises VoiceClipError or
        ProjectError with a readable message; the project is unchanged then."""
        if speaker_id not in ("S1", "S2"):
            raise ProjectError(f"unknown speaker {speaker_id!r}: use S1 or S2")
        with self.lock:
            current = self.doc.speakers[speaker_id]
            update: dict = {}
            if name is not None:
                update["name"] = name.strip() or current.name
            if transcript is not None:
                update["transcript"] = " ".join(transcript.split())
            if clip is None:
                update.update(clip=None, clip_sha256=None, clip_seconds=None)
            elif clip is not _UNSET:
                if not (update.get("transcript", current.transcript)).strip():
                    raise ProjectError(f"the voice clip of {speaker_id} ({clip}) needs its transcript: Dia needs "
                                       "the words spoken in the clip")
                relative, sha, seconds = import_clip(self.folder, speaker_id, Path(clip))
                update.update(clip=relative, clip_sha256=sha, clip_seconds=seconds)
            try:
                speaker = Speaker.model_validate({**current.model_dump(), **update})
            except ValidationError as error:
                reason = error.errors()[0]["msg"].removeprefix("Value error, ")
                raise ProjectError(f"speaker {speaker_id}: {reason}") from None
            self.doc.speakers[speaker_id] = speaker
            return speaker

    # ----- state of each line ---------------------------------------------------------------------
    def sampling(self) -> Sampling:
        return self.doc.sampling

    def line_sampling(self, line_id: str) -> Sampling:
        """The sampling a line is generated with: its own override, else the project's."""
        with self.lock:
            return self._effective_sampling(self.line(line_id))

    def _effective_sampling(self, line: Line) -> Sampling:
        return line.sampling if line.sampling is not None else self.doc.sampling

    def set_line_sampling(self, line_id: str, sampling: Sampling | None) -> Line:
        """Give one line its own sampling parameters, or `None` to use the project's again."""
        with self.lock:
            line = self.line(line_id)
            line.sampling = sampling.model_copy() if sampling is not None else None
            return line

    def use_sampling_of(self, family: str) -> bool:
        """Make the project's (and each line's own) sampling values those of model family `family`: the values
        in use are kept aside under their family and `family`'s own come back (its defaults the first time).
        Returns whether anything was swapped."""
        with self.lock:
            doc = self.doc
            current = doc.sampling_family or "dia"  # projects from before Dia2 held Dia 1.6B's values
            doc.sampling_family = family
            if current == family:
                return False
            doc.sampling_kept[current] = doc.sampling
            doc.sampling = doc.sampling_kept.pop(family, None) or Sampling()
            for line in doc.lines + doc.removed_lines:
                if line.sampling is not None:
                    line.sampling_kept[current] = line.sampling
                else:
                    line.sampling_kept.pop(current, None)
                line.sampling = line.sampling_kept.pop(family, None)
            return True

    def fingerprint(self, line_id: str) -> str:
        """What a take of this line must be made from to be up to date."""
        with self.lock:
            return line_fingerprint(self.script_line(line_id).model_text, voices_fingerprint(self.doc.speakers),
                                    self.line_sampling(line_id))

    def status(self, line_id: str) -> LineStatus:
        with self.lock:
            return line_status(self.folder, self.line(line_id), self.fingerprint(line_id))

    def statuses(self) -> dict[str, LineStatus]:
        """Status of every line, in script order."""
        with self.lock:
            voices = voices_fingerprint(self.doc.speakers)
            return {
                line.id: line_status(self.folder, line,
                                     line_fingerprint(parsed.model_text, voices, self._effective_sampling(line)))
                for line, parsed in zip(self.doc.lines, self.script.lines)
            }

    def lines_to_generate(self) -> list[str]:
        """Ids of the missing and stale lines, in script order."""
        return [line_id for line_id, status in self.statuses().items() if status is not LineStatus.DONE]

    def set_line_options(self, line_id: str, *, gap_ms: float | None | object = _UNSET, gain_db: float | None = None,
                         trim_silence: bool | None = None, pinned: bool | None = None,
                         seed: int | None | object = _UNSET) -> Line:
        """Timeline and seed settings of one line (`gap_ms=None` means the project default)."""
        with self.lock:
            line = self.line(line_id)
            if gap_ms is not _UNSET:
                line.gap_ms = gap_ms
            if gain_db is not None:
                line.gain_db = gain_db
            if trim_silence is not None:
                line.trim_silence = trim_silence
            if pinned is not None:
                line.pinned = pinned
            if seed is not _UNSET:
                line.seed = seed
            return line

    # ----- takes ----------------------------------------------------------------------------------
    def add_take(self, line_id: str, audio: np.ndarray, sample_rate: int, *, seed: int, sampling: Sampling,
                 model_id: str, fingerprint: str, parts: int = 1,
                 words: list[tuple[str, float]] | None = None) -> Take | None:
        """Store a new take, make it the line's active take and save the project at once.

        Returns None (and stores nothing) when the line was deleted from the script meanwhile."""
        with self.lock:
            line = self.doc.line(line_id)
            if line is None:
                return None
            take_id, relative, number = next_take_name(self.folder, line)
            write_take_audio(self.folder, relative, audio, sample_rate)
            take = Take(id=take_id, file=relative, seed=seed, sampling=sampling, model_id=model_id,
                        fingerprint=fingerprint, duration=len(audio) / sample_rate,
                        created=datetime.now(timezone.utc), parts=parts,
                        words=[tuple(w) for w in words] if words is not None else None)
            line.takes.append(take)
            line.next_take = number + 1
            line.active_take = take.id
            line.seed = seed
            self.save()
            return take

    def set_active_take(self, line_id: str, take_id: str) -> None:
        with self.lock:
            line = self.line(line_id)
            take = line.take(take_id)
            if take is None:
                raise KeyError(f"line {line_id} has no take {take_id!r}")
            line.active_take = take.id
            line.seed = take.seed

    def take_audio(self, line_id: str, take_id: str | None = None) -> np.ndarray:
        """Samples of a take (the active one by default). Raises TakeMissingError when its file is gone."""
        with self.lock:
            line = self.line(line_id)
            take = line.take(take_id or line.active_take)
            if take is None:
                raise KeyError(f"line {line_id} has no take {take_id or '(active)'}")
            return load_take_audio(self.folder, take)

    def keep_only_active(self, line_ids: list[str] | None = None) -> int:
        """Delete every take but the active one (of the given lines, or all) and their files. Returns how many.

        Also forgets lines cut from the script. This is the only operation that deletes takes."""
        with self.lock:
            doomed: list[Take] = []
            for line in self.doc.lines:
                if line_ids is None or line.id in line_ids:
                    doomed += [t for t in line.takes if t.id != line.active_take]
                    line.takes = [t for t in line.takes if t.id == line.active_take]
            if line_ids is None:
                doomed += [t for line in self.doc.removed_lines for t in line.takes]
                self.doc.removed_lines = []
            self.save()  # first forget the takes, then delete their files: a crash in between loses nothing in use
            for take in doomed:
                take_path(self.folder, take).unlink(missing_ok=True)
            return len(doomed)

    # ----- timeline and export --------------------------------------------------------------------
    def timeline(self, *, allow_missing: bool = False) -> Timeline:
        """Active takes in script order, placed with each line's gap, gain and trim.

        Raises IncompleteProjectError naming the lines without a usable take, unless `allow_missing`
        (then they are left out, e.g. to preview a partly generated episode)."""
        with self.lock:
            clips, missing = [], []
            for line, parsed in zip(self.doc.lines, self.script.lines):
                take = line.take(line.active_take)
                if take is None or not take_available(self.folder, take):
                    missing.append(f"{parsed.source_line}")
                    continue
                audio = load_take_audio(self.folder, take)
                names = self.doc.speakers
                cue = "\n".join(f"{names[t.speaker].name}: {t.text}" for t in parsed.turns)
                manifest = {
                    "line": parsed.source_line, "id": line.id, "speaker": parsed.speaker,
                    "speaker_name": names[parsed.speaker].name, "text": parsed.spoken_text,
                    "take": take.id, "seed": take.seed,
                }
                clips.append(ClipSpec(
                    line.id, audio, gap_ms=self.doc.default_gap_ms if line.gap_ms is None else line.gap_ms,
                    gain_db=line.gain_db, trim_silence=line.trim_silence, stem="+".join(sorted(parsed.speakers)),
                    info={"cue": cue, "manifest": manifest},
                ))
            if missing and not allow_missing:
                raise IncompleteProjectError(f"line{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                             "of the script have no take yet: generate them first")
            return arrange(clips, SAMPLE_RATE)

    def export(self, out: Path, options: ExportOptions | None = None) -> ExportResult:
        """Export the episode (all lines need a take). Options default to the project's export settings."""
        if options is None:
            settings = self.doc.export
            options = ExportOptions(lufs=settings.lufs, format=settings.format, bit_depth=settings.bit_depth,
                                    stems=settings.stems, subtitles=settings.subtitles)
        return export_timeline(self.timeline(), Path(out), options)
