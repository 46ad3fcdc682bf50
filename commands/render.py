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

from .common import (add_dia2_sampling_options, add_engine_options, add_sampling_options, describe_model, fail,
                     load_engine, print_warnings, validate_inputs)
from .recognise import add_recogniser_options, auto_transcript, is_auto, make_transcriber, showing_downloads

SAMPLING_ARGS = ("cfg_scale", "temperature", "top_p", "cfg_filter_top_k", "top_k", "text_temperature", "text_top_k",
                 "max_tokens")


def add_parser(sub) -> None:
    from projects.model import EXPORT_RATES, LOUDNESS_PRESETS

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
                   help="what is said in the speaker's clip (default: the .txt file beside the clip); "
                        "S1=auto: heard by the speech recogniser (cached by the clip's content)")
    p.add_argument("--name", action="append", default=[], metavar="S1=NAME",
                   help="speaker's display name, used in subtitles and the manifest")
    p.add_argument("--lufs", type=_lufs, default=None,
                   help=f"target integrated loudness in LUFS or a preset ({presets}; default: the project's, -16)")
    p.add_argument("--format", choices=["wav", "flac"], default=None, help="default: from the --out extension")
    p.add_argument("--bit-depth", choices=["16", "24", "float"], default="24", help="default: %(default)s")
    p.add_argument("--stems", action="store_true", help="also write one file per speaker, aligned with the mix")
    p.add_argument("--subtitles", action="store_true", help="also write .srt and .vtt subtitles (word-timed where "
                   "the model times its words: Dia2)")
    p.add_argument("--sample-rate", type=int, choices=EXPORT_RATES, default=None,
                   help="the mix's sample rate; takes of other rates are resampled (default: the project's, 44100)")
    p.add_argument("--check", action="store_true",
                   help="check every line's take with the speech recogniser (missing or extra words, speaking "
                        "rate, long silences, clipping) and list the lines that fail")
    p.add_argument("--retake-failing", type=int, default=0, metavar="N",
                   help="check the takes and regenerate each failing line up to N times with new seeds; every "
                        "take is kept and the best one made active")
    p.add_argument("--check-threshold", action="append", default=[], metavar="NAME=VALUE",
                   help="change a take-check threshold, e.g. max_missing_words=1 or max_pause=2.5 (repeatable; "
                        "see docs/recogniser.md)")
    add_engine_options(p)
    add_sampling_options(p)
    add_dia2_sampling_options(p)
    add_recogniser_options(p)
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
    from projects.export import ExportOptions
    from projects.model import Sampling
    from projects.sampling import canonical
    from projects.project import Project
    from projects.script import parse_script
    from projects.store import PROJECT_FILE, ProjectError
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

    out = Path(args.out)
    voices = {s: Path(v) for s, v in _speaker_values(args.voice, "--voice").items()}
    transcripts = _speaker_values(args.transcript, "--transcript")
    names = _speaker_values(args.name, "--name")
    if args.retake_failing < 0:
        return fail(f"--retake-failing must be 0 or more, got {args.retake_failing}")
    checking = args.check or args.retake_failing > 0
    thresholds = _thresholds(args.check_threshold)
    transcriber = make_transcriber(args) if checking or any(is_auto(t) for t in transcripts.values()) else None
    clip_seconds: dict[str, float] = {}
    for speaker, clip in voices.items():
        clip_seconds[speaker] = check_clip(clip)
        if is_auto(transcripts.get(speaker)):
            transcripts[speaker] = auto_transcript(transcriber, clip, f"{speaker}'s clip {clip.name}")
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
        if is_auto(transcripts[speaker]):  # the clip already in the project
            clip = folder / project.doc.speakers[speaker].clip
            transcripts[speaker] = auto_transcript(transcriber, clip, f"{speaker}'s clip in the project")
    if checking:
        try:
            with showing_downloads():
                transcriber.locate()  # now, not after the generation: say at once when the checks cannot run
        except ProjectError as error:
            return fail(f"--check and --retake-failing need the speech recogniser: {error}")
    if transcriber is not None:
        transcriber.unload()  # its memory goes to the generation; loaded again for the checks
    info = describe_model(args.model)  # its limits and sampling, from its config (None: loading says why)
    if info is not None:
        project.use_sampling_of(info.family)  # the values this project keeps for the model's family
    overrides = {name: getattr(args, name) for name in SAMPLING_ARGS if getattr(args, name) is not None}
    sampling = Sampling(**{**project.doc.sampling.model_dump(), **overrides})
    if info is not None:
        sampling = Sampling(**canonical(info, sampling.model_dump()))  # a default typed in follows the default
    _check_sampling(sampling, info)

    # ---- the project as it will be (in memory; voice clips are copied only once all is well) -------
    project.set_script(text)
    project.doc.sampling = sampling
    if args.seed is not None:
        project.doc.seed = args.seed
    if args.sample_rate is not None:
        project.doc.export.sample_rate = args.sample_rate
    prompt = " ".join(
        tagged_transcript(s, transcripts.get(s, project.doc.speakers[s].transcript))
        for s in ("S1", "S2") if s in voices or project.doc.speakers[s].clip
    )
    prompt_seconds = sum(clip_seconds[s] if s in voices else project.doc.speakers[s].clip_seconds or 0.0
                         for s in ("S1", "S2") if s in voices or project.doc.speakers[s].clip)
    fmt, warnings = validate_inputs("render", script=project.script, out=out, fmt=args.format, codec=args.codec,
                                    prompt_transcript=prompt, prompt_seconds=prompt_seconds, info=info)
    options = ExportOptions(lufs=project.doc.export.lufs if args.lufs is None else args.lufs, format=fmt,
                            bit_depth=args.bit_depth, stems=args.stems, subtitles=args.subtitles)
    voices_change = any(
        file_sha256(clip) != project.doc.speakers[s].clip_sha256
        or " ".join(transcripts[s].split()) != project.doc.speakers[s].transcript
        for s, clip in voices.items()
    ) or any(" ".join(t.split()) != project.doc.speakers[s].transcript for s, t in transcripts.items())
    recorded = project.doc.model
    model_change = recorded is None or recorded.model_id != str(args.model) or (
        args.dtype is not None and recorded.dtype != args.dtype)
    needs_generation = voices_change or bool(project.lines_to_generate()) or (model_change and bool(project.lines))
    engine = load_engine(args) if needs_generation else None  # before any write: a bad --model changes nothing

    # ---- apply, generate, export -----------------------------------------------------------------
    for speaker in ("S1", "S2"):
        if speaker in voices or speaker in transcripts or speaker in names:
            project.set_speaker(speaker, name=names.get(speaker), transcript=transcripts.get(speaker),
                                **({"clip": voices[speaker]} if speaker in voices else {}))
    project.save()
    print_warnings(warnings, " (open the project in the editor to see them)")
    if engine is not None:
        status = _generate(project, engine)
        if status:
            return status
    else:
        print("all lines are up to date: nothing to generate", file=sys.stderr)
    if checking:
        status = _check_takes(project, engine, transcriber, args, thresholds)
        if status:
            return status
    earlier = _earlier_extras(out)
    result = project.export(out, options)
    for stale in sorted(earlier - set(result.files)):  # an earlier render's stems/subtitles no longer match the mix
        stale.unlink(missing_ok=True)
        print(f"removed {stale} (from an earlier render; not part of this one)", file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    loudness = "unmeasured" if result.loudness_lufs is None else f"{result.loudness_lufs:.1f} LUFS"
    print(f"wrote {out} ({_clock(result.duration)}, {loudness}, true peak {result.true_peak_dbtp:.1f} dBTP)")
    for extra in result.files[1:]:
        print(f"wrote {extra}")
    return 0


def _earlier_extras(out: Path) -> set[Path]:
    """The stems and subtitles an earlier render wrote beside `out`, as its manifest records them."""
    import json

    from projects.export import sibling

    try:
        manifest = json.loads(sibling(out, ".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(manifest, dict) or manifest.get("mix") != out.name:
        return set()
    extras = {out.with_name(str(name)) for name in (manifest.get("stems") or {}).values()}
    extras |= {path for path in (sibling(out, ".srt"), sibling(out, ".vtt")) if path.is_file()}
    return {path for path in extras if path.parent == out.parent and path.is_file()}


def _check_sampling(sampling, info) -> None:
    """Raises ValueError naming a bad value, or a parameter the model's family does not have."""
    from dia_engine import SamplingParams

    from projects.sampling import to_params

    SamplingParams(**sampling.model_dump())
    if info is not None:
        to_params(info, sampling.model_dump())


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


def _thresholds(pairs: list[str]):
    from projects.take_check import CheckThresholds

    defaults = CheckThresholds().to_dict()
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in defaults:
            raise ValueError(f"--check-threshold {pair!r}: write NAME=VALUE with NAME one of {', '.join(defaults)}")
        try:
            values[name] = type(defaults[name])(value)
        except ValueError:
            raise ValueError(f"--check-threshold {pair!r}: {value!r} is not a number") from None
    return CheckThresholds(**{**defaults, **values})


def _check_takes(project, engine, transcriber, args, thresholds) -> int:
    """Check every line's active take; with --retake-failing N, regenerate the failing ones (best take wins)."""
    from projects.generation import GenerationService
    from projects.take_review import TakeReviewer, retake_failing

    reviewer = TakeReviewer(project, transcriber, thresholds)
    line_ids = [line.id for line in project.lines if line.active_take is not None]
    print(f"checking {len(line_ids)} takes with {transcriber.model_id}…", file=sys.stderr, flush=True)
    checks = {line_id: reviewer.check(line_id) for line_id in line_ids}
    failing = [line_id for line_id, check in checks.items() if not check.passed]
    if failing and args.retake_failing > 0:
        print(f"{len(failing)} failing: regenerating each up to {args.retake_failing} times", file=sys.stderr,
              flush=True)
        service = GenerationService(project, engine if engine is not None else load_engine(args))

        first_takes = {line_id: project.line(line_id).active_take for line_id in failing}

        def report(line_id, take_id, check) -> None:
            if take_id != first_takes[line_id]:  # the retakes (the first take's verdict is printed below)
                print(f"  line {project.script_line(line_id).source_line} take {take_id}: {check.verdict}",
                      file=sys.stderr, flush=True)

        checks.update(retake_failing(service, reviewer, failing, args.retake_failing, on_check=report))
        failing = [line_id for line_id, check in checks.items() if not check.passed]
    for line_id in failing:
        parsed = project.script_line(line_id)
        print(f"check: line {parsed.source_line} ({parsed.speaker}) take {project.line(line_id).active_take}: "
              f"{checks[line_id].verdict}", file=sys.stderr)
    print(f"checked {len(checks)} lines: {len(checks) - len(failing)} ok, {len(failing)} failing", file=sys.stderr)
    transcriber.unload()
    return 0


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:04.1f}"
