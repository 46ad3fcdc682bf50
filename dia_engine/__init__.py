"""Dia 1.6B and Dia2 inference in PyTorch: load the official checkpoints, encode voices, generate dialogue.

`DiaEngine.from_pretrained` reads the family from config.json; a Dia2 checkpoint gives a `dia2.Dia2Engine`
with the same surface. Faces read model facts from `engine.info` only."""

from .engine import DiaEngine, combine_voices
from .errors import AudioInputError, DiaEngineError, GenerationOutOfMemory, ModelLoadError
from .hub import DownloadCancelled, DownloadObserver, DownloadStatus, TqdmProgress, observe_downloads
from .info import ModelInfo
from .recogniser import DEFAULT_RECOGNISER, RecognisedWord, Recogniser, Transcription
from .text import text_byte_length
from .types import (
    DIA_DEFAULT_SAMPLING,
    FRAMES_PER_SECOND,
    HOP_LENGTH,
    NUM_CHANNELS,
    SAMPLE_RATE,
    GenerationRequest,
    GenerationResult,
    Progress,
    SamplingParams,
    VoiceClip,
    VoicePrompt,
)
from .words import WordTiming, align_words, normalise_words, time_transcript_words

__all__ = [
    "AudioInputError", "DIA_DEFAULT_SAMPLING", "DiaEngine", "DiaEngineError", "DownloadCancelled", "DownloadObserver",
    "DownloadStatus", "TqdmProgress", "observe_downloads", "FRAMES_PER_SECOND", "GenerationOutOfMemory",
    "GenerationRequest", "GenerationResult", "HOP_LENGTH", "ModelInfo", "ModelLoadError", "NUM_CHANNELS", "Progress",
    "SAMPLE_RATE", "SamplingParams", "VoiceClip", "VoicePrompt", "combine_voices", "text_byte_length",
    # speech recognition (transcripts, take checks, word timings for voice prompts)
    "DEFAULT_RECOGNISER", "RecognisedWord", "Recogniser", "Transcription", "WordTiming", "align_words",
    "normalise_words", "time_transcript_words",
]
