"""Checking a project's takes with the recogniser, and regenerating the lines whose take fails.

    reviewer = TakeReviewer(project, transcriber)          # thresholds: CheckThresholds() unless given
    check = reviewer.check("L3")                           # the active take; transcribes it (cached)
    reviewer.cached_check("L3")                            # the same without a model, if heard before
    checks = retake_failing(service, reviewer, ids, 2)     # up to 2 new takes per failing line, best made active

A take's transcript is cached by its audio content, so a check costs one transcription per take, ever.
Takes are never deleted here: retakes are added, and the best take (fewest problems, then fewest word
errors, then closest to the voice's rate) becomes the active one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from dia_engine import Transcription

from .audio import read_mono
from .model import Take
from .take_check import CheckThresholds, TakeCheck, best_take, check_take, voice_rate
from .transcripts import Transcriber
from .voices import tagged_transcript


class TakeReviewer:
    def __init__(self, project, transcriber: Transcriber, thresholds: CheckThresholds | None = None) -> None:
        self.project = project
        self.transcriber = transcriber
        self.thresholds = thresholds or CheckThresholds()
        self._voice_rates: dict[tuple[str, str], float | None] = {}  # (clip hash, transcript) -> words/s
        self._lock = threading.Lock()

    def check(self, line_id: str, take_id: str | None = None, *, download: bool = True) -> TakeCheck:
        """Check a take (the line's active one by default), transcribing it if it was never heard.

        Raises RecogniserUnavailable when no recogniser can be loaded (or, with `download=False`, when it is not
        downloaded yet), KeyError or OSError when the line, take or file is gone."""
        take, audio, rate = self._take(line_id, take_id)
        heard = self.transcriber.transcribe_audio(audio, rate, download=download)
        return self._compare(line_id, heard, audio, rate)

    def cached_check(self, line_id: str, take_id: str | None = None) -> TakeCheck | None:
        """The check of a take heard before (no model is loaded), else None."""
        try:
            take, audio, rate = self._take(line_id, take_id)
        except (KeyError, OSError):
            return None
        from .transcripts import audio_sha256

        heard = self.transcriber.cache.get(audio_sha256(audio, rate), self.transcriber.model_id)
        return None if heard is None else self._compare(line_id, heard, audio, rate)

    def _take(self, line_id: str, take_id: str | None) -> tuple[Take, object, int]:
        project = self.project
        with project.lock:
            line = project.line(line_id)
            take = line.take(take_id or line.active_take)
            if take is None:
                raise KeyError(f"line {line_id} has no take {take_id or '(active)'}")
        # Read outside the lock: disk I/O never holds the lock the UI thread takes.
        audio, rate = read_mono(Path(project.folder) / take.file)
        return take, audio, rate

    def _compare(self, line_id: str, heard: Transcription, audio, rate: int) -> TakeCheck:
        parsed = self.project.script_line(line_id)
        rates = [r for r in (self._voice_rate(speaker) for speaker in parsed.speakers) if r is not None]
        voice = sum(rates) / len(rates) if rates else None
        return check_take(parsed.spoken_text, heard.text, audio, rate, voice_words_per_second=voice,
                          thresholds=self.thresholds)

    def _voice_rate(self, speaker_id: str) -> float | None:
        """Words per second in the speaker's reference clip (None without a clip or with too few words)."""
        with self.project.lock:
            speaker = self.project.doc.speakers[speaker_id]
            if not speaker.clip:
                return None
            key = (speaker.clip_sha256 or speaker.clip, speaker.transcript)
            path = Path(self.project.folder) / speaker.clip
        with self._lock:
            if key not in self._voice_rates:
                try:
                    audio, rate = read_mono(path)
                except (OSError, RuntimeError):
                    return None
                self._voice_rates[key] = voice_rate(tagged_transcript(speaker_id, key[1]), audio, rate)
            return self._voice_rates[key]


def retake_failing(service, reviewer: TakeReviewer, line_ids: list[str], max_retakes: int, *,
                   on_check: Callable[[str, str, TakeCheck], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> dict[str, TakeCheck]:
    """Check the active takes of `line_ids`; regenerate each failing line (new seed) up to `max_retakes`
    times, stopping early once a take passes; make each line's best checked take active.

    `on_check(line_id, take_id, check)` reports every check. Pinned lines are checked but not retaken (their
    seed would reproduce the same take). Returns the check of each line's active take at the end."""
    project = service.project
    checked: dict[str, list[tuple[str, TakeCheck]]] = {}
    for line_id in line_ids:
        line = project.line(line_id)
        if line.active_take is None:
            continue
        check = reviewer.check(line_id)
        checked[line_id] = [(line.active_take, check)]
        if on_check:
            on_check(line_id, line.active_take, check)

    def failing() -> list[str]:
        return [line_id for line_id, checks in checked.items()
                if not any(c.passed for _, c in checks) and not project.line(line_id).pinned]

    for _ in range(max(0, max_retakes)):
        todo = failing()
        if not todo or (should_stop and should_stop()):
            break
        jobs = service.plan(todo, force=True)
        report = service.run(jobs, should_stop=should_stop)
        for line_id, take in report.takes.items():
            check = reviewer.check(line_id, take.id)
            checked[line_id].append((take.id, check))
            if on_check:
                on_check(line_id, take.id, check)
        if report.stopped:
            break

    result: dict[str, TakeCheck] = {}
    with project.lock:
        for line_id, checks in checked.items():
            best = best_take(checks)
            if len(checks) > 1 and project.doc.line(line_id) is not None:
                project.set_active_take(line_id, best)
            result[line_id] = dict(checks)[best]
        project.save()
    return result
