"""`main.py render SCRIPT.txt --project DIR --out MIX.wav`: a script to a finished, loudness-normalised episode.

Creates or updates the project from the script, generates only the lines that are missing or stale (each
take is saved the moment it finishes, so an interrupted render resumes where it stopped), then exports.
Every input is checked before anything is written: bad input leaves the project as it was.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .common import add_engine_options, add_sampling_options, fail, load_engine

SAMPLING_ARGS = ("cfg_scale", "temperature", "top_p", "cfg_filter_top_k", "max_tokens")
MAX_WARNINGS = 10


def add_parser(sub) -> None:
    from projects.model import LOUDNESS_PRESETS

    presets = ", ".join(f"{name} {value:g}" for name, value in LOUDNESS_PRESETS.items())
    p = sub.add_parser(
        "render", help="render a script to a finished episode (incremental)",
        description="Render a plain-text script ([S1]/[S2] lines) into a mixed, loudness-normalised episode. "
                    "Only new, edited or otherwise out-of-date lines are generated; every take is kept in the "
                    "project folder. Sampling options and --seed are remembered by the project.",
    )
    p.add_argument("script", help="script file (UTF-8 text, one line per generation)")
    p.add_argument("--project", required=True, help="project folder (created if missing)")
    p.add_argument("--out", required=True, help="mix to write (.wav or .flac)")
    p.add_argument("--voice", action="append", default=[], metavar="S1=CLIP",
                   help="reference clip of a speaker (repeatable; any format libsndfile reads)")
    p.add_argument("--transcript", action="append", default=[], metavar="S1=TEXT",
                   help="what is said in the speaker's clip (default: the .txt file beside the clip)")
    p.add_argument("--name", action="append", default=[], metavar="S1=NAME",
                   help="speaker's display name, used in subtitles and the manifest")
    p.add_argument("--lufs", type=_lufs, default=None,
                   help=f"target integrated loudness in LUFS or a preset ({presets}; default: the project's, -16)")
    p.add_argument("--format", choices=["wav", "flac"], default=None, help="default: from the --out extension")
    p.add_argument("--bit-depth", choices=["16", "24", "float"], default="24", help="default: %(default)s")
    p.add_argument("--stems", action="store_true", help="also write one file per speaker, aligned with the mix")
    p.add_argument("--subtitles", action="store_true", help="also write .srt and .vtt subtitles")
    add_engine_options(p)
    add_sampling_options(p)
    for action in p._actions:  # argparse has no public way to reword a shared option's help
        if action.dest == "seed":
            action.help = ("project seed: a fresh render of the same script is then reproducible (default: the "
                           "project's; without one, each take draws a random seed, recorded with it)")
    # Unset sampling options keep the project's values (so re-running without them does not make lines stale).
    p.set_defaults(func=run, seed=None, **{name: None for name in SAMPLING_ARGS})


def _lufs(value: str) -> float:
    from projects.model import LOUDNESS_PRESETS

    if value.lower() in LOUDNESS_PRESETS:
        return LOUDNESS_PRESETS[value.lower()]
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number or one of {', '.join(LOUDNESS_PRESETS)}") from None


def _speaker_values(pairs: list[str], option: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        speaker, sep, value = pair.partition("=")
        speaker = speaker.strip().upper()
        if not sep or speaker not in ("S1", "S2"):
            raise ValueError(f"{option} {pair!r}: write it as S1=... or S2=...")
        values[speaker] = value
    return values


def run(args: argparse.Namespace) -> int:
    from dia_engine import DiaEngineError

    from projects.store import ProjectError

    try:
        return _render(args)
    except (ProjectError, DiaEngineError, ValueError, OSError) as error:
        return fail(str(error))
    except KeyboardInterrupt:
        print("\ninterrupted: the takes finished so far are saved; run the same command again to resume",
              file=sys.stderr)
        return 130


def _render(args: argparse.Namespace) -> int:
    from dia_engine import ModelLoadError
    from dia_engine.describe import describe

    from projects.export import ExportOptions
    from projects.limits import prompt_frames
    from projects.lint import lint_script
    from projects.model import Sampling
    from projects.project import Project
    from projects.script import parse_script
    from projects.store import PROJECT_FILE
    from projects.voices import check_clip, file_sha256, tagged_transcript

    # ---- check every input before touching anything ----------------------------------------------
    script_path = Path(args.script)
    try:
        text = script_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return fail(f"script {script_path} is not UTF-8 text")
    except OSError as error:
        return fail(f"cannot read script {script_path}: {error.strerror or error}")
    if not parse_script(text).lines:
        return fail(f"script {script_path} has no lines to speak")

    if str(args.codec).lower() == "none":
        return fail("render writes audio and needs a codec: do not pass --codec none")
    out = Path(args.out)
    suffix = out.suffix.lower()
    if args.format is None and suffix not in (".wav", ".flac"):
        return fail(f"--out {out} should end in .wav or .flac (or pass --format)")
    fmt = args.format or suffix[1:]
    if suffix in (".wav", ".flac") and suffix != f".{fmt}":
        return fail(f"--out {out} does not end in .{fmt} but --format is {fmt}")
    if not out.parent.is_dir():
        return fail(f"output folder does not exist: {out.parent}")

    voices = {s: Path(v) for s, v in _speaker_values(args.voice, "--voice").items()}
    transcripts = _speaker_values(args.transcript, "--transcript")
    names = _speaker_values(args.name, "--name")
    clip_seconds: dict[str, float] = {}
    for speaker, clip in voices.items():
        clip_seconds[speaker] = check_clip(clip)
        if speaker not in transcripts:
            beside = clip.with_suffix(".txt")
            if not beside.is_file():
                return fail(f"--voice {speaker}={clip} needs its transcript: pass --transcript {speaker}=TEXT "
                            f"or put it in {beside}")
            transcripts[speaker] = beside.read_text(encoding="utf-8-sig")
        if not transcripts[speaker].strip():
            return fail(f"the transcript of {speaker}'s clip {clip} is empty")

    folder = Path(args.project)
    if (folder / PROJECT_FILE).exists():
        project = Project.open(folder)
    elif folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        return fail(f"{folder} exists and is not a Dia Studio project (no {PROJECT_FILE}); choose a new folder")
    else:
        project = Project.new(folder)

    for speaker in transcripts:
        if speaker not in voices and not project.doc.speakers[speaker].clip:
            return fail(f"--transcript {speaker}=... needs a clip: pass --voice {speaker}=CLIP")
    overrides = {name: getattr(args, name) for name in SAMPLING_ARGS if getattr(args, name) is not None}
    sampling = Sampling(**{**project.doc.sampling.model_dump(), **overrides})
    _check_sampling(sampling)
    options = ExportOptions(lufs=project.doc.export.lufs if args.lufs is None else args.lufs, format=fmt,
                            bit_depth=args.bit_depth, stems=args.stems, subtitles=args.subtitles)

    # ---- the project as it will be (in memory; voice clips are copied only once all is well) -------
    project.set_script(text)
    project.doc.sampling = sampling
    if args.seed is not None:
        project.doc.seed = args.seed
    prompt = " ".join(
        tagged_transcript(s, transcripts.get(s, project.doc.speakers[s].transcript))
        for s in ("S1", "S2") if s in voices or project.doc.speakers[s].clip
    )
    prompt_seconds = sum(clip_seconds[s] if s in voices else project.doc.speakers[s].clip_seconds or 0.0
                         for s in ("S1", "S2") if s in voices or project.doc.speakers[s].clip)
    try:  # the model's limits, from its config alone; if it cannot be described, loading it reports why
        info = describe(args.model)
    except ModelLoadError:
        info = None
    issues = lint_script(project.script, info, prompt_transcript=prompt,
                         prompt_frames=prompt_frames(info, prompt_seconds) if info is not None else 0)
    errors = [issue for issue in issues if issue.severity == "error"]
    if errors:
        return fail(str(errors[0]))
    voices_change = any(
        file_sha256(clip) != project.doc.speakers[s].clip_sha256
        or " ".join(transcripts[s].split()) != project.doc.speakers[s].transcript
        for s, clip in voices.items()
    ) or any(" ".join(t.split()) != project.doc.speakers[s].transcript for s, t in transcripts.items())
    needs_generation = voices_change or bool(project.lines_to_generate())
    engine = load_engine(args) if needs_generation else None  # before any write: a bad --model changes nothing

    # ---- apply, generate, export -----------------------------------------------------------------
    for speaker in ("S1", "S2"):
        if speaker in voices or speaker in transcripts or speaker in names:
            project.set_speaker(speaker, name=names.get(speaker), transcript=transcripts.get(speaker),
                                **({"clip": voices[speaker]} if speaker in voices else {}))
    project.save()
    warnings = [issue for issue in issues if issue.severity == "warning"]
    for issue in warnings[:MAX_WARNINGS]:
        print(f"warning: {issue}", file=sys.stderr)
    if len(warnings) > MAX_WARNINGS:
        print(f"warning: … and {len(warnings) - MAX_WARNINGS} more (open the project in the editor to see them)",
              file=sys.stderr)
    if engine is not None:
        status = _generate(project, engine)
        if status:
            return status
    else:
        print("all lines are up to date: nothing to generate", file=sys.stderr)
    result = project.export(out, options)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    loudness = "unmeasured" if result.loudness_lufs is None else f"{result.loudness_lufs:.1f} LUFS"
    print(f"wrote {out} ({_clock(result.duration)}, {loudness}, true peak {result.true_peak_dbtp:.1f} dBTP)")
    for extra in result.files[1:]:
        print(f"wrote {extra}")
    return 0


def _check_sampling(sampling) -> None:
    from dia_engine import SamplingParams

    SamplingParams(**sampling.model_dump())  # raises ValueError naming the bad value


def _generate(project, engine) -> int:
    from projects.generation import GenerationService

    service = GenerationService(project, engine)
    jobs = service.plan()
    statuses = project.statuses()
    missing = sum(1 for job in jobs if statuses[job.line_id].value == "missing")
    print(f"generating {len(jobs)} of {len(project.lines)} lines ({missing} missing, {len(jobs) - missing} stale) "
          f"on {engine.device}", file=sys.stderr, flush=True)
    started = time.monotonic()
    tty = sys.stderr.isatty()
    last_print = [0.0]

    def on_progress(progress) -> None:
        now = time.monotonic()
        if tty and now - last_print[0] > 0.2:
            last_print[0] = now
            print(f"\r  {progress.fraction:4.0%}  {progress.lines_done}/{progress.lines_total} lines",
                  end="", file=sys.stderr, flush=True)

    def on_take(line_id, take) -> None:
        parsed = project.script_line(line_id)
        done = len(report_takes) + 1
        report_takes.append(line_id)
        clear = "\r\x1b[K" if tty else ""
        print(f"{clear}  [{done}/{len(jobs)}] line {parsed.source_line} ({parsed.speaker}) {take.duration:.1f} s, "
              f"seed {take.seed}", file=sys.stderr, flush=True)

    report_takes: list[str] = []
    report = service.run(jobs, on_progress=on_progress, on_take=on_take)
    if report.stopped:
        return fail("generation stopped before every line was done; run again to finish")
    count = len(report.takes)
    print(f"generated {count} line{'' if count == 1 else 's'} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:04.1f}"
