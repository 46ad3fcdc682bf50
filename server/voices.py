"""The voices a server offers: a voice id maps to a reference clip and the transcript of that clip.

Voices come from a folder of clips with `.txt` transcripts beside them (id = file stem) or from the
speakers of a Dia Studio project. Each clip is encoded once, on first use, by the engine's codec.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from .speech_text import as_speaker, dialogue_text

# Containers libsndfile reads; other files in a voices folder (the .txt transcripts, notes) are ignored.
CLIP_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".aiff", ".aif", ".caf", ".w64")
RANDOM_VOICE = "random"  # reserved id: no reference clip, the seed picks the voice


@dataclass(frozen=True)
class Voice:
    id: str
    name: str  # what a person calls it (the speaker's display name, or the file stem)
    transcript: str  # what is said in the clip, in Dia's dialogue form ("[S1] ...")
    clip: Path

    def describe(self) -> dict:
        return {"id": self.id, "name": self.name, "transcript": self.transcript, "clip": self.clip.name}


class VoiceLibraryError(ValueError):
    """The voices folder or project cannot be served (missing folder, clashing ids, no usable voice)."""


class VoiceLibrary:
    def __init__(self, voices: Sequence[Voice] = ()) -> None:
        self._voices: dict[str, Voice] = {}
        for voice in voices:
            if voice.id == RANDOM_VOICE:
                raise VoiceLibraryError(f"the voice id {RANDOM_VOICE!r} is reserved (no reference clip); "
                                        f"rename {voice.clip.name}")
            if voice.id in self._voices:
                raise VoiceLibraryError(f"two voices have the id {voice.id!r}: "
                                        f"{self._voices[voice.id].clip} and {voice.clip}")
            self._voices[voice.id] = voice
        self._prompts: dict[str, object] = {}
        self._lock = threading.Lock()

    # --- construction -------------------------------------------------------------------------------

    @classmethod
    def from_folder(cls, folder: str | Path) -> tuple[VoiceLibrary, list[str]]:
        """Every clip in `folder` with a non-empty `<stem>.txt` beside it; warnings name the clips left out."""
        folder = Path(folder)
        if not folder.is_dir():
            raise VoiceLibraryError(f"voices folder not found: {folder}")
        voices: list[Voice] = []
        warnings: list[str] = []
        for clip in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in CLIP_SUFFIXES):
            transcript_file = clip.with_suffix(".txt")
            if not transcript_file.is_file():
                warnings.append(f"{clip.name}: skipped, no transcript {transcript_file.name} beside it")
                continue
            try:
                transcript = transcript_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                warnings.append(f"{clip.name}: skipped, cannot read {transcript_file.name} ({exc})")
                continue
            problem = clip_problem(clip)
            if problem:
                warnings.append(f"{clip.name}: skipped, {problem}")
                continue
            if not dialogue_text(transcript):
                warnings.append(f"{clip.name}: skipped, its transcript {transcript_file.name} is empty")
                continue
            voices.append(Voice(clip.stem, clip.stem, as_speaker(transcript, "S1"), clip))
        if not voices:
            raise VoiceLibraryError(f"no usable voices in {folder}: expected clips like alice.wav with the words "
                                    f"spoken in alice.txt beside them" + "".join(f"\n  {w}" for w in warnings))
        return cls(voices), warnings

    @classmethod
    def from_project(cls, folder: str | Path) -> tuple[VoiceLibrary, list[str]]:
        """The speakers of a Dia Studio project that have a reference clip; id = the speaker's name as a slug."""
        from projects.store import ProjectError, load

        folder = Path(folder)
        try:
            project = load(folder)
        except ProjectError as exc:
            raise VoiceLibraryError(str(exc)) from None
        voices: list[Voice] = []
        warnings: list[str] = []
        for speaker_id, speaker in sorted(project.speakers.items()):
            if not speaker.clip:
                warnings.append(f"{speaker_id} ({speaker.name}): skipped, no reference clip")
                continue
            clip = folder / speaker.clip
            problem = clip_problem(clip)
            if problem:
                warnings.append(f"{speaker_id} ({speaker.name}): skipped, {speaker.clip}: {problem}")
                continue
            voice_id = voice_id_from_name(speaker.name) or speaker_id.lower()
            if voice_id in (v.id for v in voices) or voice_id == RANDOM_VOICE:
                voice_id = f"{voice_id}-{speaker_id.lower()}"
            # A speaker's clip leads the voice prompt alone, so its transcript becomes an S1 turn.
            voices.append(Voice(voice_id, speaker.name, as_speaker(speaker.transcript, "S1"), clip))
        if not voices:
            raise VoiceLibraryError(f"the project {folder} has no speaker with a usable reference clip; add clips "
                                    "in the editor or serve a folder with --voices"
                                    + "".join(f"\n  {w}" for w in warnings))
        return cls(voices), warnings

    # --- lookup -------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._voices)

    def __iter__(self) -> Iterator[Voice]:
        return iter(self._voices.values())

    def __contains__(self, voice_id: object) -> bool:
        return voice_id in self._voices

    def get(self, voice_id: str) -> Voice | None:
        return self._voices.get(voice_id)

    @property
    def ids(self) -> list[str]:
        return list(self._voices)

    def prompt(self, voice_id: str, engine):
        """The engine's VoicePrompt for a voice, encoded on first use and kept (one encoding per voice)."""
        with self._lock:
            cached = self._prompts.get(voice_id)
            if cached is None:
                voice = self._voices[voice_id]
                cached = engine.encode_voice(voice.clip, voice.transcript)
                self._prompts[voice_id] = cached
            return cached


def clip_problem(clip: Path) -> str | None:
    """Why a clip cannot be a voice (unreadable, empty), or None; reads only the file header."""
    try:
        info = sf.info(str(clip))
    except Exception as exc:  # libsndfile raises its own error types for unreadable files
        return f"not readable as audio ({exc})"
    if info.frames <= 0:
        return "the clip holds no audio"
    return None


def voice_id_from_name(name: str) -> str:
    """A short id from a display name: "Dr. Ada Lovelace" -> "dr-ada-lovelace" (letters of any script stay)."""
    return re.sub(r"[\W_]+", "-", name.strip().lower()).strip("-")
