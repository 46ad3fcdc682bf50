"""Turning missing and stale lines into takes with a `dia_engine` engine.

Used the same way by `render` and by the editor's worker thread:

    service = GenerationService(project, engine)   # keep it: it caches the encoded voice prompt
    jobs = service.plan()                       # missing + stale lines (or service.plan(["L3"], force=True))
    report = service.run(jobs, on_progress=..., on_take=..., should_stop=...)

Each take is written and the project saved the moment its line finishes, so stopping (or a crash) loses
only the lines still in progress, and the next run resumes with what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dia_engine import GenerationRequest, GenerationResult, Progress, VoicePrompt

from .audio import PART_CROSSFADE_MS, crossfade_join, ms_to_samples
from .limits import MIN_SPEECH_SECONDS, MIN_TEXT_UNITS, seconds_budget, text_budget
from .model import Sampling, Take
from .project import Project
from .sampling import resolved_values, to_params
from .seeds import part_seed, seed_for_next_take
from .split import split_for_model
from .store import ProjectError
from .takes import LineStatus
from .voices import VoicePromptCache
from .words import join_parts

@dataclass(frozen=True, eq=False)
class LineJob:
    """One line to generate, with everything it is generated from as it was when planned (so a setting changed
    meanwhile cannot end up in a take whose fingerprint says otherwise)."""

    line_id: str
    seed: int
    fingerprint: str  # the take will carry it
    parts: tuple[str, ...]  # model texts, generated separately and joined
    sampling: Sampling  # the line's effective sampling (its override or the project's)
    voice: VoicePrompt | None
    text: str = ""  # the script line when planned: a line cut meanwhile keeps its take under this text


@dataclass(frozen=True)
class GenerationProgress:
    lines_done: int
    lines_total: int
    fraction: float  # 0..1 over all parts, counting decoder steps of the parts in flight
    active_lines: tuple[str, ...]  # line ids being generated right now


@dataclass
class GenerationReport:
    takes: dict[str, Take] = field(default_factory=dict)  # line id -> new take, in the order they finished
    stopped: bool = False  # should_stop() ended the run before every job finished
    skipped: list[str] = field(default_factory=list)  # lines deleted from the script while generating


class GenerationService:
    """Generates takes for a project's lines with one engine; keeps the encoded voice prompt between runs."""

    def __init__(self, project: Project, engine) -> None:
        if not getattr(engine, "has_codec", True):
            raise ProjectError("the engine was loaded without an audio codec: takes need audio")
        self.project = project
        self.engine = engine
        self._voices = VoicePromptCache(engine)
        self.model_id, self.dtype = engine_identity(engine)
        info = getattr(engine, "info", None)  # takes of another model or precision turn stale; its family's sampling
        project.set_model(self.model_id, self.dtype, family=info.family if info is not None else None)

    def voice(self) -> VoicePrompt | None:
        """The combined voice prompt of the project's speakers as they are now (encoded once, then cached)."""
        with self.project.lock:
            speakers = {k: v.model_copy() for k, v in self.project.doc.speakers.items()}
        return self._voices.prompt(self.project.folder, speakers)

    def plan(self, line_ids: list[str] | None = None, *, force: bool = False) -> list[LineJob]:
        """Jobs for `line_ids` (default: every line) that are missing or stale; with `force`, for all of them
        (an explicit "regenerate": a pinned line then reproduces its take, others draw a new seed).

        Voices are encoded (the slow part) outside the project lock, from a copy of the speakers; if they
        change meanwhile, the plan starts over, so a job never pairs one voice with another's fingerprint."""
        project = self.project
        while True:
            with project.lock:
                wanted = set(line_ids) if line_ids is not None else None
                todo = self._todo(wanted)
                if not any((wanted is None or line.id in wanted) and (force or line.id in todo)
                           for line in project.lines):
                    return []  # nothing to do: not even the voices need encoding
                speakers = {k: v.model_copy() for k, v in project.doc.speakers.items()}
            voice = self._voices.prompt(project.folder, speakers)
            with project.lock:
                if project.doc.speakers != speakers:
                    continue
                return self._jobs(voice, wanted, force)

    def _todo(self, wanted: set[str] | None) -> set[str]:
        """(Lock held.) The missing and stale lines among `wanted`: only those are checked, so the lock is
        held briefly even in a long script."""
        project = self.project
        if wanted is None:
            return set(project.lines_to_generate())
        return {i for i in wanted if project.in_script(i) and project.status(i) is not LineStatus.DONE}

    def _jobs(self, voice: VoicePrompt | None, wanted: set[str] | None, force: bool) -> list[LineJob]:
        project = self.project
        todo = self._todo(wanted)
        lines = [line for line in project.lines
                 if (wanted is None or line.id in wanted) and (force or line.id in todo)]
        transcript = voice.transcript if voice is not None else ""
        info = self.engine.info
        max_text = text_budget(info, transcript)
        max_seconds = seconds_budget(info, voice.num_frames if voice is not None else 0)
        if max_text < MIN_TEXT_UNITS:
            raise ProjectError("the voice clips' transcripts fill the model's text length: use shorter clips")
        if max_seconds < MIN_SPEECH_SECONDS:
            raise ProjectError(f"the voice clips leave no room for speech in the model's {info.max_seconds:.0f} s "
                               "of audio: use clips of about 5-10 s")
        jobs = []
        for line in lines:
            try:  # parameters this family lacks are refused here, naming the line, before any work
                to_params(info, project.line_sampling(line.id).model_dump())
            except ValueError as error:
                raise ProjectError(f"line {project.script_line(line.id).source_line}: {error}") from None
            parts = split_for_model(project.script_line(line.id).turns, info, max_text=max_text,
                                    max_seconds=max_seconds)
            jobs.append(LineJob(line.id, seed_for_next_take(project.doc.seed, line), project.fingerprint(line.id),
                                tuple(parts), project.line_sampling(line.id).model_copy(), voice, line.text))
        return jobs

    def run(
        self,
        jobs: list[LineJob],
        *,
        on_progress: Callable[[GenerationProgress], None] | None = None,
        on_take: Callable[[str, Take], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_line_progress: Callable[[str, float], None] | None = None,
    ) -> GenerationReport:
        """Generate `jobs` in one batched engine call (the engine fills its batch slots as lines finish).

        Each finished line becomes a take, saved at once and reported to `on_take(line_id, take)`. Callbacks
        run on the calling thread. Engine errors (out of memory, ...) propagate; finished takes stay saved.
        `on_line_progress(line_id, fraction)` reports each line's own progress: requests are tied to their line
        by position, never by text or seed (identical lines with one pinned seed stay apart)."""
        report = GenerationReport()
        if not jobs:
            return report
        info = self.engine.info
        requests = [
            (job, i, GenerationRequest(text, part_seed(job.seed, i), to_params(info, job.sampling.model_dump()),
                                       job.voice))
            for job in jobs for i, text in enumerate(job.parts)
        ]
        audio_parts: dict[str, dict[int, np.ndarray]] = {job.line_id: {} for job in jobs}
        word_parts: dict[str, dict[int, tuple | None]] = {job.line_id: {} for job in jobs}
        steps = [0.0] * len(requests)
        lines_done = 0

        def progress(event: Progress) -> None:
            steps[event.index] = 1.0 if event.finished else min(1.0, event.step / max(1, event.total))
            if on_line_progress:
                job, part, _request = requests[event.index]
                on_line_progress(job.line_id, (part + steps[event.index]) / len(job.parts))
            if on_progress:
                active = tuple(dict.fromkeys(requests[i][0].line_id for i, s in enumerate(steps) if 0 < s < 1))
                on_progress(GenerationProgress(lines_done, len(jobs), sum(steps) / len(requests), active))

        def result(index: int, outcome: GenerationResult) -> None:
            nonlocal lines_done
            job, part, _request = requests[index]
            steps[index] = 1.0
            if outcome.audio is None:
                raise ProjectError("the engine returned no audio: it has no codec")
            audio_parts[job.line_id][part] = np.asarray(outcome.audio, dtype=np.float32)
            word_parts[job.line_id][part] = outcome.words
            if len(audio_parts[job.line_id]) < len(job.parts):
                return
            pieces = [audio_parts[job.line_id][i] for i in range(len(job.parts))]
            words = join_parts([word_parts[job.line_id][i] for i in range(len(job.parts))],
                               [len(piece) / outcome.sample_rate for piece in pieces], PART_CROSSFADE_MS / 1000)
            take = self.project.add_take(
                job.line_id, crossfade_join(pieces, ms_to_samples(PART_CROSSFADE_MS, outcome.sample_rate)),
                outcome.sample_rate, seed=job.seed, sampling=Sampling(**resolved_values(info, job.sampling.model_dump())),
                model_id=self.model_id, fingerprint=job.fingerprint, parts=len(job.parts), dtype=self.dtype,
                line_text=job.text, device=str(getattr(self.engine, "device", "")) or None,
                kernels=list(getattr(self.engine, "cpu_kernels", None) or ()) or None,
                words=list(words) if words is not None else None)
            lines_done += 1
            if take is None:
                report.skipped.append(job.line_id)
            else:
                report.takes[job.line_id] = take
                if on_take:
                    on_take(job.line_id, take)
            if on_progress:
                on_progress(GenerationProgress(lines_done, len(jobs), sum(steps) / len(requests), ()))

        outcomes = self.engine.generate([r for _, _, r in requests], on_progress=progress, on_result=result,
                                        should_stop=should_stop)
        report.stopped = any(outcome is None for outcome in outcomes)
        return report


def engine_identity(engine) -> tuple[str, str]:
    """(model id, dtype) of an engine, read from its `info` (what the fingerprint of its takes holds)."""
    info = getattr(engine, "info", None)
    model_id = getattr(info, "model_id", None) or getattr(engine, "model_id", "unknown")
    return str(model_id), str(getattr(engine, "dtype", "unknown"))
