"""A project folder and the operations on it: the one object the editor, the server and `render` work with.

Layout: `project.json`, `voices/` (copied reference clips), `takes/` (one WAV per take, with its record as
JSON beside it), `backups/`. Methods change the document in memory; `save()` writes it. Two write at once:
`set_speaker` copies a clip into `voices/` (named by its content, so nothing is overwritten), and `add_take`
writes the take and saves, so an interrupted render keeps every take it finished.

All methods are safe to call from a worker thread and the UI thread. `lock` guards the document only: slow
work (reading and writing audio, fsync) happens outside it on a snapshot, so the UI thread never waits on a
disk or a codec. Take records are never forgotten while their files exist: lines cut from the script keep
theirs in `removed_lines`, and only `keep_only_active` (an explicit user action) deletes takes and files.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from dia_engine import ModelInfo

from . import store
from .audio import resample
from .export import ExportOptions, ExportResult, export_timeline
from .files import describe_os_error
from .fingerprint import line_fingerprint
from .identity import match_lines
from .limits import prompt_frames
from .lint import LintIssue, lint_script
from .model import Line, ModelKey, ProjectFile, Sampling, Speaker, Take
from .script import Script, ScriptLine, parse_script
from .store import ProjectError
from .takes import (LineStatus, TakeMissingError, delete_take_files, line_status, load_take_audio, next_take_name,
                    take_problem, take_rate, unrecorded_takes, write_take_files)
from .timeline import ClipSpec, IncompleteProjectError, Timeline, arrange, trim_span
from .voices import import_clip, prompt_transcript, voices_fingerprint

log = logging.getLogger(__name__)
_UNSET = object()
KEEP_REMOVED_WITHOUT_TAKES = 500  # cut lines without takes remembered (options, id) for undo and paste


@dataclass(frozen=True)
class _Placed:
    """What the timeline needs of one line, copied under the lock (the audio is read after it is released)."""

    line_id: str
    take: Take
    gap_ms: float
    gain_db: float
    trim_silence: bool
    stem: str
    info: dict


class _TakeLoader:
    """Reads a take's samples when the mix needs them (at the timeline's rate); unreadable: TakeMissingError."""

    def __init__(self, folder: Path, take: Take, rate: int, to_rate: int) -> None:
        self.folder, self.take, self.rate, self.to_rate = folder, take, rate, to_rate

    def __call__(self) -> np.ndarray:
        return resample(load_take_audio(self.folder, self.take), self.rate, self.to_rate)


class Project:
    def __init__(self, folder: Path, doc: ProjectFile) -> None:
        self.folder = Path(folder)
        self.doc = doc
        self.lock = threading.RLock()  # held by every method; hold it to read or change `doc` in several steps
        self._write_lock = threading.Lock()  # one `project.json` write at a time, the newest state last
        self._saves_started = 0
        self._saves_written = 0
        self._spans: dict[tuple, tuple[int, int]] = {}  # kept span of each take, by file and trim
        self._script: Script | None = None
        self._lint_cache: tuple[tuple, list[LintIssue]] | None = None  # the last lint, by what it read
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
        return cls(folder, store.load(Path(folder)))._adopt_unrecorded_takes()

    @classmethod
    def restore_backup(cls, folder: Path, backup: Path) -> Project:
        """Replace a corrupt `project.json` by `backup` (the corrupt file is kept as `project.json.corrupt`)."""
        return cls(folder, store.restore_backup(Path(folder), backup))._adopt_unrecorded_takes()

    def save(self) -> None:
        """Write `project.json` (atomic, fsynced). The document is copied under the lock and written outside it;
        concurrent saves never let an older state overwrite a newer one."""
        with self.lock:
            data = store.serialize(self.doc)
            self._saves_started += 1
            number = self._saves_started
            folder = self.folder
        with self._write_lock:
            if number < self._saves_written:
                return  # a newer state is already on disk
            try:
                store.write(folder, data)
            except OSError as error:
                raise ProjectError(f"cannot save {folder / store.PROJECT_FILE}: {describe_os_error(error)}. The "
                                   "saved version is unchanged and nothing in the open project was lost") from error
            self._saves_written = number

    def _adopt_unrecorded_takes(self) -> Project:
        """Give back their records to takes whose audio was written but whose project save was cut short (a
        crash between the two). Takes of lines no longer in the script go with the removed lines."""
        with self.lock:
            recorded = {t.file for line in self.doc.lines + self.doc.removed_lines for t in line.takes}
            adopted = 0
            for wav, record in unrecorded_takes(self.folder, recorded):
                if record is None:
                    log.warning("%s has no readable record beside it: left alone", wav)
                    continue
                take = Take.model_validate(record["take"])
                if take.file != f"takes/{wav.name}":
                    continue
                line = self._record(record["line_id"])
                if line is None:
                    line = Line(id=record["line_id"], text=str(record.get("line_text", "")))
                    self.doc.removed_lines.append(line)
                line.takes.append(take)
                line.next_take = max(line.next_take, int(take.id.rsplit("-", 1)[-1]) + 1)
                if line.active_take is None:
                    line.active_take = take.id
                adopted += 1
        if adopted:
            log.warning("adopted %d take(s) whose project save was interrupted", adopted)
            try:
                self.save()
            except ProjectError as error:  # a read-only copy still opens; the records are saved with the next save
                log.warning("%s", error)
        return self

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
        """The record of a line in the script, or of one cut from it (its takes and options are kept)."""
        line = self._record(line_id)
        if line is None:
            raise KeyError(f"no line {line_id!r} in the project")
        return line

    def _record(self, line_id: str) -> Line | None:
        line = self.doc.line(line_id)
        if line is None:
            line = next((r for r in self.doc.removed_lines if r.id == line_id), None)
        return line

    def in_script(self, line_id: str) -> bool:
        return self.doc.line(line_id) is not None

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
            # Several removed lines may share a text ("[S2] Yeah."): each is a record of its own, never merged.
            removed_by_text: dict[str, list[Line]] = {}
            for line in self.doc.removed_lines:
                removed_by_text.setdefault(line.text, []).append(line)
            new_lines: list[Line] = []
            for parsed_line, index in zip(parsed, mapping):
                if index is not None:
                    line = old[index]
                elif removed_by_text.get(parsed_line.text):
                    line = removed_by_text[parsed_line.text].pop()  # the most recently removed one
                else:
                    line = Line(id=f"L{self.doc.next_line}", text=parsed_line.text)
                    self.doc.next_line += 1
                line.text = parsed_line.text
                new_lines.append(line)
            kept = {id(line) for line in new_lines}
            # Cut lines keep their record (id, options, takes), so undo and paste bring them back as they were.
            # Every record with takes is kept (no cap): only keep_only_active forgets takes, with their files;
            # of the records without takes only the newest are kept.
            dropped = [line for line in old if id(line) not in kept]
            removed = [line for line in self.doc.removed_lines if id(line) not in kept] + dropped
            bare = [line for line in removed if not line.takes]
            if len(bare) > KEEP_REMOVED_WITHOUT_TAKES:
                forget = {id(line) for line in bare[: len(bare) - KEEP_REMOVED_WITHOUT_TAKES]}
                removed = [line for line in removed if id(line) not in forget]
            self.doc.lines = new_lines
            self.doc.removed_lines = removed

    def lint(self, info: ModelInfo | None = None) -> list[LintIssue]:
        """The script's issues against the limits of the model `info` describes (None: model-free checks only)."""
        with self.lock:
            seconds = sum(s.clip_seconds or 0.0 for s in self.doc.speakers.values() if s.clip)
            frames = prompt_frames(info, seconds) if info is not None else 0
            transcript = prompt_transcript(self.doc.speakers)
            # The editor asks on every repaint and cursor move; the script object is replaced on every edit.
            key = (id(self.script), self.doc.script, transcript, frames, info)
            if self._lint_cache is None or self._lint_cache[0] != key:
                self._lint_cache = (key, lint_script(self.script, info, prompt_transcript=transcript,
                                                     prompt_frames=frames))
            return list(self._lint_cache[1])

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
                                    self.line_sampling(line_id), self.doc.model)

    def set_model(self, model_id: str, dtype: str, family: str | None = None) -> None:
        """The model and precision generating from now on: lines whose takes came from another turn stale (their
        takes are kept). With the model's `family`, the sampling values in use become that family's own (those
        of the family left are kept for a return, see `use_sampling_of`)."""
        with self.lock:
            key = ModelKey(model_id=model_id, dtype=dtype)
            if self.doc.model != key:
                self.doc.model = key
            if family is not None:
                self.use_sampling_of(family)

    def status(self, line_id: str) -> LineStatus:
        with self.lock:
            return line_status(self.folder, self.line(line_id), self.fingerprint(line_id))

    def statuses(self) -> dict[str, LineStatus]:
        """Status of every line, in script order."""
        with self.lock:
            voices = voices_fingerprint(self.doc.speakers)
            return {
                line.id: line_status(self.folder, line,
                                     line_fingerprint(parsed.model_text, voices, self._effective_sampling(line),
                                                      self.doc.model))
                for line, parsed in zip(self.doc.lines, self.script.lines)
            }

    def take_problem(self, line_id: str, take_id: str | None = None) -> str | None:
        """Why a take (the active one by default) cannot be played or mixed, or None when it can."""
        with self.lock:
            line = self.line(line_id)
            take = line.take(take_id or line.active_take)
        if take is None:
            return "there is no such take"
        return take_problem(self.folder, take)

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
            if seed is not _UNSET:
                line.seed = seed
            if pinned is not None:
                line.pinned = pinned
                active = line.take(line.active_take)
                if pinned and line.seed is None and active is not None:
                    line.seed = active.seed  # pinning keeps the take you hear
            return line

    # ----- takes ----------------------------------------------------------------------------------
    def add_take(self, line_id: str, audio: np.ndarray, sample_rate: int, *, seed: int, sampling: Sampling,
                 model_id: str, fingerprint: str, parts: int = 1, dtype: str | None = None,
                 device: str | None = None, kernels: list[str] | None = None,
                 line_text: str | None = None, words: list[tuple[str, float]] | None = None) -> Take | None:
        """Store a new take, make it the line's active take and save the project at once.

        A line cut from the script meanwhile keeps the take in its record (pasting the line back brings it); the
        record of a line cut before its first take is made again from `line_text` (its text when planned).
        Returns None (and stores nothing) only for a line the project knows nothing of. The files are written
        outside the lock; when this returns, the take is on disk and recorded in `project.json`."""
        with self.lock:
            line = self._record(line_id)
            if line is None:
                if line_text is None:
                    return None
                line = Line(id=line_id, text=line_text)
            take_id, relative, number = next_take_name(self.folder, line)
            line.next_take = number + 1  # reserved: a concurrent take of this line gets the next number
            take = Take(id=take_id, file=relative, seed=seed, sampling=sampling, model_id=model_id,
                        fingerprint=fingerprint, duration=len(audio) / sample_rate,
                        created=datetime.now(timezone.utc), parts=parts, dtype=dtype, device=device,
                        kernels=sorted(kernels) if kernels else None, sample_rate=sample_rate,
                        words=[tuple(w) for w in words] if words is not None else None)
            folder = self.folder
        try:
            write_take_files(folder, line, take, audio, sample_rate)
        except OSError as error:
            delete_take_files(folder, take)  # a half-written pair of our own (atomic: never a finished take)
            raise ProjectError(f"cannot write take {take.id} into {folder}: {describe_os_error(error)}. Earlier "
                               "takes and the project are unchanged") from error
        with self.lock:
            if self._record(line_id) is not line:  # cut from the script (without takes) while writing
                self.doc.removed_lines.append(line)
            line.takes.append(take)
            line.active_take = take.id
        self.save()
        return take

    def set_active_take(self, line_id: str, take_id: str) -> None:
        """Make a take the one heard. The line's pinned seed is its own and does not change."""
        with self.lock:
            line = self.line(line_id)
            take = line.take(take_id)
            if take is None:
                raise KeyError(f"line {line_id} has no take {take_id!r}")
            line.active_take = take.id

    def take_audio(self, line_id: str, take_id: str | None = None) -> np.ndarray:
        """Samples of a take (the active one by default). Raises TakeMissingError when its file is gone."""
        with self.lock:
            line = self.line(line_id)
            take = line.take(take_id or line.active_take)
            if take is None:
                raise KeyError(f"line {line_id} has no take {take_id or '(active)'}")
            folder = self.folder
        return load_take_audio(folder, take)

    def keep_only_active(self, line_ids: list[str] | None = None) -> int:
        """Delete every take but the active one (of the given lines, or all) and their files. Returns how many.

        Also forgets lines cut from the script. This is the only operation that deletes takes."""
        with self.lock:
            doomed: list[Take] = []
            for line in self.doc.lines:
                if line_ids is None or line.id in line_ids:
                    doomed += [t for t in line.takes if t.id != line.active_take]
                    line.takes = [t for t in line.takes if t.id == line.active_take]
            if line_ids is None:  # the cut lines' takes too; their records stay (ids, options) for undo
                for line in self.doc.removed_lines:
                    doomed += line.takes
                    line.takes, line.active_take = [], None
        self.save()  # first forget the takes, then delete their files: a crash in between loses nothing in use
        for take in doomed:
            delete_take_files(self.folder, take)
        return len(doomed)

    # ----- timeline and export --------------------------------------------------------------------
    def timeline(self, *, allow_missing: bool = False) -> Timeline:
        """Active takes in script order, placed with each line's gap, gain and trim.

        Raises IncompleteProjectError naming the lines without a take, unless `allow_missing` (then they are
        left out, e.g. to preview a partly generated episode). A take whose file is gone or damaged is left
        out with a warning naming the file (`Timeline.warnings`); nothing is deleted."""
        with self.lock:
            placed, missing = self._placements()
            folder = self.folder
        if missing and not allow_missing:
            raise IncompleteProjectError(f"line{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                         "of the script have no take yet: generate them first")
        clips, warnings = [], []
        rate = self.doc.export.sample_rate  # takes of other rates (another model) are resampled to it
        for item in placed:  # headers only, outside the lock: the audio is read when the mix is rendered
            problem = take_problem(folder, item.take)
            if problem is not None:
                warnings.append(f"line {item.info['manifest']['line']} ({item.line_id}) was left out: take "
                                f"{item.take.id} cannot be used: {problem}")
                continue
            item_rate = take_rate(folder, item.take)
            clips.append(ClipSpec(item.line_id, _TakeLoader(folder, item.take, item_rate, rate), gap_ms=item.gap_ms,
                                  gain_db=item.gain_db, trim_silence=item.trim_silence, stem=item.stem,
                                  info=item.info, key=(item.take.file, item_rate, rate)))
        timeline = arrange(clips, rate, spans=lambda spec: self._span(spec, rate))
        timeline.warnings = warnings
        return timeline

    def _span(self, spec: ClipSpec, rate: int) -> tuple[int, int]:
        """The kept span of a take (its silence trimmed if asked), remembered: take files never change."""
        key = (spec.key, spec.trim_silence)
        span = self._spans.get(key)
        if span is None:
            span = trim_span(spec, rate)
            self._spans[key] = span
        return span

    def _placements(self) -> tuple[list[_Placed], list[str]]:
        placed, missing = [], []
        names = self.doc.speakers
        for line, parsed in zip(self.doc.lines, self.script.lines):
            take = line.take(line.active_take)
            if take is None:
                missing.append(f"{parsed.source_line}")
                continue
            cue = "\n".join(f"{names[t.speaker].name}: {t.text}" for t in parsed.turns)
            manifest = {
                "line": parsed.source_line, "id": line.id, "speaker": parsed.speaker,
                "speaker_name": names[parsed.speaker].name, "text": parsed.spoken_text,
                "take": take.id, "seed": take.seed, "model": take.model_id,
            }
            placed.append(_Placed(line.id, take.model_copy(),
                                  self.doc.default_gap_ms if line.gap_ms is None else line.gap_ms,
                                  line.gain_db, line.trim_silence, "+".join(sorted(parsed.speakers)),
                                  {"cue": cue, "manifest": manifest, "turns": parsed.turns, "words": take.words,
                                   "names": {s: names[s].name for s in ("S1", "S2")}}))
        return placed, missing

    def export(self, out: Path, options: ExportOptions | None = None, *, complete: bool = False) -> ExportResult:
        """Export the episode (all lines need a take). Options default to the project's export settings.

        A damaged take is left out with a warning in the result; with `complete`, the export is refused instead
        (ProjectError naming the files) and nothing is written."""
        if options is None:
            settings = self.doc.export
            options = ExportOptions(lufs=settings.lufs, format=settings.format, bit_depth=settings.bit_depth,
                                    stems=settings.stems, subtitles=settings.subtitles)
        timeline = self.timeline()
        if complete and timeline.warnings:
            raise ProjectError("a complete render was asked for, but " + "; ".join(timeline.warnings))
        result = export_timeline(timeline, Path(out), options)
        result.warnings[:0] = timeline.warnings
        with self.lock:
            self.doc.export.last_folder = str(Path(out).resolve().parent)
        return result
