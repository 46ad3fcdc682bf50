"""The voices a server offers: a voice id maps to a reference clip and the transcript of that clip.

Voices come from a folder of clips with `.txt` transcripts beside them (id = file stem; a clip without one is
transcribed by the speech recogniser when the server has one, cached by the clip's content) or from the
speakers of a Dia Studio project (id = the speaker's name as a slug). Two ids joined with `+` make a
dialogue voice: Dia hears the first clip as [S1] and the second as [S2], as the editor does for a project.
Each clip is encoded once, on first use, by the engine's codec.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dia_engine import VoicePrompt, combine_voices
from projects.voices import VoiceClipError, check_clip

from .speech_text import as_speaker, spoken_words

# Containers libsndfile reads; other files in a voices folder (the .txt transcripts, notes) are ignored.
CLIP_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".aiff", ".aif", ".caf", ".w64")
RANDOM_VOICE = "random"  # reserved id: no reference clip, the seed picks the voice
PAIR_SEPARATOR = "+"


@dataclass(frozen=True)
class Voice:
    id: str
    name: str  # what a person calls it (the speaker's display name, or the file stem)
    transcript: str  # what is said in the clip as one [S1] turn, e.g. "[S1] Hello there."
    clip: Path
    auto_transcript: bool = False  # heard by the speech recogniser (no .txt beside the clip)

    def describe(self) -> dict:
        return {"id": self.id, "name": self.name, "transcript": self.transcript, "clip": self.clip.name,
                "auto_transcript": self.auto_transcript}


class VoiceLibraryError(ValueError):
    """The voices folder or project cannot be served (missing folder, clashing ids, no usable voice)."""


class UnknownVoice(KeyError):
    def __init__(self, voice_id: str) -> None:
        super().__init__(voice_id)
        self.voice_id = voice_id


class VoiceLibrary:
    def __init__(self, voices: Sequence[Voice] = ()) -> None:
        self._voices: dict[str, Voice] = {}
        for voice in voices:
            if voice.id == RANDOM_VOICE or PAIR_SEPARATOR in voice.id or not voice.id:
                raise VoiceLibraryError(f"{voice.clip.name}: {voice.id!r} cannot be a voice id ('{RANDOM_VOICE}' "
                                        f"is reserved and '{PAIR_SEPARATOR}' joins two voices); rename the clip")
            if voice.id in self._voices:
                raise VoiceLibraryError(f"two voices have the id {voice.id!r}: "
                                        f"{self._voices[voice.id].clip} and {voice.clip}")
            self._voices[voice.id] = voice
        self._prompts: dict[tuple[str, str], VoicePrompt] = {}  # (voice id, speaker) -> encoded prompt
        self._lock = threading.Lock()

    # --- construction -------------------------------------------------------------------------------

    @classmethod
    def from_folder(cls, folder: str | Path, transcriber=None) -> tuple[VoiceLibrary, list[str]]:
        """Every clip in `folder` with a non-empty `<stem>.txt` beside it, or (given a `projects.transcripts.
        Transcriber`) with the words it hears in the clip; warnings name the clips left out."""
        folder = Path(folder)
        if not folder.is_dir():
            raise VoiceLibraryError(f"voices folder not found: {folder}")
        voices: list[Voice] = []
        warnings: list[str] = []
        for clip in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in CLIP_SUFFIXES):
            transcript_file = clip.with_suffix(".txt")
            heard = not transcript_file.is_file()
            if heard:
                transcript, reason = _heard_transcript(clip, transcriber)
                if not transcript:
                    warnings.append(f"{clip.name}: skipped, no transcript {transcript_file.name} beside it{reason}")
                    continue
            else:
                try:
                    transcript = as_speaker(transcript_file.read_text(encoding="utf-8"), "S1")
                except (OSError, UnicodeDecodeError) as exc:
                    warnings.append(f"{clip.name}: skipped, cannot read {transcript_file.name} ({exc})")
                    continue
            if not transcript:
                warnings.append(f"{clip.name}: skipped, its transcript {transcript_file.name} is empty")
                continue
            try:
                check_clip(clip)
            except VoiceClipError as exc:
                warnings.append(f"{clip.name}: skipped, {exc}")
                continue
            voices.append(Voice(clip.stem, clip.stem, transcript, clip, auto_transcript=heard))
        if not voices:
            raise VoiceLibraryError(f"no usable voices in {folder}: expected clips like alice.wav with the words "
                                    f"spoken in alice.txt beside them" + "".join(f"\n  {w}" for w in warnings))
        return cls(voices), warnings

    @classmethod
    def from_project(cls, folder: str | Path) -> tuple[VoiceLibrary, list[str]]:
        """The speakers of a Dia Studio project that have a reference clip; id = the speaker's name as a slug."""
        from projects.project import Project
        from projects.store import ProjectError

        folder = Path(folder)
        try:
            project = Project.open(folder)
        except ProjectError as exc:
            raise VoiceLibraryError(str(exc)) from None
        voices: list[Voice] = []
        warnings: list[str] = []
        for speaker_id, speaker in sorted(project.doc.speakers.items()):
            if not speaker.clip:
                warnings.append(f"{speaker_id} ({speaker.name}): skipped, no reference clip")
                continue
            clip = folder / speaker.clip
            try:
                check_clip(clip)
            except VoiceClipError as exc:
                warnings.append(f"{speaker_id} ({speaker.name}): skipped, {exc}")
                continue
            voice_id = voice_id_from_name(speaker.name) or speaker_id.lower()
            if voice_id in (v.id for v in voices) or voice_id == RANDOM_VOICE:
                voice_id = f"{voice_id}-{speaker_id.lower()}"
            # Alone, a speaker's clip leads the prompt, so its transcript is an [S1] turn whichever speaker it is.
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

    def get(self, voice_id: str) -> Voice | None:
        return self._voices.get(voice_id)

    @property
    def ids(self) -> list[str]:
        return list(self._voices)

    def _parts(self, voice_id: str) -> list[Voice]:
        """The voices behind an id: one, or two for "a+b". Raises UnknownVoice naming the missing one."""
        names = voice_id.split(PAIR_SEPARATOR)
        if len(names) > 2:
            raise UnknownVoice(voice_id)
        parts = []
        for name in names:
            voice = self._voices.get(name.strip())
            if voice is None:
                raise UnknownVoice(name)
            parts.append(voice)
        return parts

    def transcript(self, voice_id: str) -> str:
        """The transcript the model reads before the request text: the clip's, or both clips' for a pair."""
        parts = self._parts(voice_id)
        return " ".join(as_speaker(voice.transcript, speaker) for voice, speaker in zip(parts, ("S1", "S2")))

    def prompt(self, voice_id: str, engine) -> VoicePrompt:
        """The engine's VoicePrompt for a voice id (a pair: S1 clip then S2 clip), each clip encoded once."""
        prompts = [self._speaker_prompt(voice, speaker, engine)
                   for voice, speaker in zip(self._parts(voice_id), ("S1", "S2"))]
        return prompts[0] if len(prompts) == 1 else combine_voices(prompts[0], prompts[1])

    def _speaker_prompt(self, voice: Voice, speaker: str, engine) -> VoicePrompt:
        key = (voice.id, speaker)
        with self._lock:
            prompt = self._prompts.get(key)
            if prompt is None:
                transcript = as_speaker(voice.transcript, speaker)
                if engine.info.family == "dia2":  # Dia2 knows a clip's speaker by its place: plain words
                    transcript = spoken_words(transcript)
                prompt = engine.encode_voice(voice.clip, transcript)
                self._prompts[key] = prompt
            return prompt


def _heard_transcript(clip: Path, transcriber) -> tuple[str, str]:
    """(the clip's words as an [S1] turn, "") or ("", why not, if there is a recogniser) for a clip without a
    .txt transcript."""
    from dia_engine import AudioInputError
    from projects.transcripts import RecogniserUnavailable

    if transcriber is None:
        return "", ""
    try:
        heard = transcriber.transcribe_file(clip)
    except RecogniserUnavailable as exc:
        return "", f" and it cannot be transcribed ({exc})"
    except (AudioInputError, VoiceClipError) as exc:
        return "", f" and it cannot be transcribed ({exc})"
    if not heard.text.strip():
        return "", " and the recogniser heard no words in it"
    return as_speaker(heard.text, "S1"), ""


def voice_id_from_name(name: str) -> str:
    """A short id from a display name: "Dr. Ada Lovelace" -> "dr-ada-lovelace" (letters of any script stay)."""
    return re.sub(r"[\W_]+", "-", name.strip().lower()).strip("-")
