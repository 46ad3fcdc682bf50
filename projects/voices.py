"""Speakers' reference clips: checking and copying them into `voices/`, and the combined voice prompt of a line.

Dia keeps voices consistent when every line is generated after the same prompt: S1's clip then S2's clip.
Dia 1.6B reads their transcripts (tagged with the speaker) in front of the line's text; Dia2 takes the two clips
as its speaker 1 / speaker 2 prefix, each with its own transcript (and word timings). Each engine encodes the
clips with its own codec (DAC or Mimi) and caches the codes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

from dia_engine import AudioInputError, VoicePrompt, combine_voices

from .model import Speaker
from .store import ProjectError

VOICES_DIR = "voices"
SILENCE_PEAK = 1e-4  # about -80 dBFS: a clip this quiet holds no voice


class VoiceClipError(ProjectError):
    """A reference clip cannot be used; the message names the file."""


def check_clip(path: Path) -> float:
    """Make sure `path` is a readable, non-silent audio file; returns its duration in seconds.

    Any rate, channel count and format soundfile reads (WAV, FLAC, OGG, MP3, AIFF, ...) is accepted."""
    path = Path(path)
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except FileNotFoundError:
        raise VoiceClipError(f"voice clip {path} does not exist") from None
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as error:
        if not path.is_file():
            raise VoiceClipError(f"voice clip {path} does not exist or is not a file") from None
        reason = str(error).split(":")[-1].strip() or "unknown format"
        raise VoiceClipError(f"cannot read voice clip {path}: {reason}") from None
    if len(audio) == 0:
        raise VoiceClipError(f"voice clip {path} holds no audio")
    if not np.all(np.isfinite(audio)) or float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise VoiceClipError(f"voice clip {path} is silent or not valid audio")
    return len(audio) / rate


def tagged_transcript(speaker_id: str, transcript: str) -> str:
    """The transcript as the model reads it: one line, starting with a speaker tag."""
    text = " ".join(transcript.split())
    if text and not text.startswith(("[S1]", "[S2]")):
        text = f"[{speaker_id}] {text}"
    return text


def _untagged(transcript: str) -> str:
    """The transcript's words without speaker tags (Dia2 knows each clip's speaker by its place)."""
    return " ".join(word for word in transcript.split() if word not in ("[S1]", "[S2]"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def clip_destination(speaker_id: str, source: Path) -> tuple[str, str]:
    """(relative path in the project, content hash) a clip gets when imported; named by content."""
    sha = file_sha256(source)
    suffix = Path(source).suffix.lower() or ".audio"
    return f"{VOICES_DIR}/{speaker_id}-{sha[:12]}{suffix}", sha


def import_clip(project_folder: Path, speaker_id: str, source: Path) -> tuple[str, str, float]:
    """Copy a checked clip into the project's `voices/` folder. Returns (relative path, content hash, seconds)."""
    seconds = check_clip(source)
    relative, sha = clip_destination(speaker_id, source)
    target = Path(project_folder) / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(source, temp)
        temp.replace(target)
    return relative, sha, seconds


def voices_fingerprint(speakers: dict[str, Speaker]) -> str:
    """What the voice prompt is made from: each speaker's clip content and tagged transcript."""
    parts = [
        (speaker_id, speakers[speaker_id].clip_sha256, tagged_transcript(speaker_id, speakers[speaker_id].transcript))
        for speaker_id in ("S1", "S2")
        if speakers[speaker_id].clip
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def prompt_transcript(speakers: dict[str, Speaker]) -> str:
    """The transcript part of the combined prompt ("" without clips): needed to budget the text limit."""
    return " ".join(
        tagged_transcript(s, speakers[s].transcript) for s in ("S1", "S2") if speakers[s].clip
    )


class VoicePromptCache:
    """Encodes the speakers' clips with an engine once per distinct set of voices."""

    def __init__(self, engine) -> None:
        self._engine = engine
        self._prompts: dict[str, VoicePrompt | None] = {}
        # Dia2 clips are positional (speaker 1, speaker 2) and read their transcripts as plain words.
        self._positional = getattr(engine, "info", None) is not None and engine.info.family == "dia2"

    def prompt(self, project_folder: Path, speakers: dict[str, Speaker]) -> VoicePrompt | None:
        """The combined S1-then-S2 prompt, the single clip's prompt, or None when no speaker has a clip."""
        key = voices_fingerprint(speakers)
        if key not in self._prompts:
            if self._positional and speakers["S2"].clip and not speakers["S1"].clip:
                raise VoiceClipError("Dia2 takes speaker 2's clip only after speaker 1's: give S1 a voice clip "
                                     "too, or remove S2's")
            prompts = []
            for speaker_id in ("S1", "S2"):
                speaker = speakers[speaker_id]
                if not speaker.clip:
                    continue
                path = Path(project_folder) / speaker.clip
                transcript = (" ".join(_untagged(speaker.transcript).split()) if self._positional
                              else tagged_transcript(speaker_id, speaker.transcript))
                try:
                    prompts.append(self._engine.encode_voice(path, transcript))
                except AudioInputError as error:
                    raise VoiceClipError(f"voice clip of {speaker_id} ({path}) cannot be used: {error}") from None
            if not prompts:
                combined = None
            elif len(prompts) == 1:
                combined = prompts[0]
            else:
                combined = combine_voices(prompts[0], prompts[1])
            self._prompts[key] = combined
        return self._prompts[key]
