"""Encode generated audio (float32 mono) into the response formats the server offers.

Everything goes through soundfile/libsndfile except `pcm`, which is raw 16-bit little-endian samples.
Encoding is deterministic: the same samples always give the same bytes. libsndfile writes Ogg streams
with a random serial number, so Ogg output gets a fixed serial (and its page checksums recomputed).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf

FORMATS = ("wav", "flac", "mp3", "opus", "pcm")
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)  # all Opus takes: others (44.1 kHz) go up to 48 kHz
OPUS_SAMPLE_RATE = 48000
OPENAI_PCM_SAMPLE_RATE = 24000  # OpenAI's `pcm` is headerless 24 kHz s16le; clients hard-code that rate

MEDIA_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg; codecs=opus",
    "pcm": "audio/pcm",
}

# (soundfile container, subtype) for each format that libsndfile writes.
_SOUNDFILE_TARGETS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "opus": ("OGG", "OPUS"),
}


class UnsupportedFormatError(ValueError):
    """The format is unknown or the installed libsndfile cannot write it."""


@dataclass(frozen=True)
class EncodedAudio:
    data: bytes
    media_type: str
    sample_rate: int


def available_formats() -> dict[str, str | None]:
    """Each format mapped to None when it can be written here, else the reason it cannot."""
    result: dict[str, str | None] = {"pcm": None}
    containers = sf.available_formats()
    for name, (container, subtype) in _SOUNDFILE_TARGETS.items():
        if container in containers and subtype in sf.available_subtypes(container):
            result[name] = None
        else:
            needs = " (MP3 needs libsndfile >= 1.1.0)" if name == "mp3" else ""
            result[name] = (f"the installed libsndfile {sf.__libsndfile_version__} cannot write {name}"
                            f"{needs}")
    return {name: result[name] for name in FORMATS}


def encode_audio(audio: np.ndarray, sample_rate: int, fmt: str, *, pcm_sample_rate: int | None = None) -> EncodedAudio:
    """Encode mono float samples in [-1, 1] at their own rate where the format takes it (Opus takes 8-48 kHz
    but not 44.1). `pcm_sample_rate` resamples raw PCM (default: keep the rate)."""
    if fmt not in FORMATS:
        raise UnsupportedFormatError(f"unknown audio format {fmt!r}; choose one of {', '.join(FORMATS)}")
    reason = available_formats()[fmt]
    if reason is not None:
        raise UnsupportedFormatError(reason)
    samples = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)

    if fmt == "pcm":
        rate = pcm_sample_rate or sample_rate
        samples = resample(samples, sample_rate, rate)
        pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
        return EncodedAudio(pcm.tobytes(), MEDIA_TYPES[fmt], rate)

    rate = sample_rate
    if samples.size == 0 and fmt != "wav":
        # FLAC, MP3 and Ogg files without a single sample are unreadable; 10 ms of silence is a valid file.
        samples = np.zeros(sample_rate // 100, np.float32)
    if fmt == "opus" and sample_rate not in OPUS_RATES:  # Dia2's 24 kHz stays; Dia 1.6B's 44.1 kHz goes to 48
        rate = OPUS_SAMPLE_RATE
        samples = np.clip(resample(samples, sample_rate, rate), -1.0, 1.0)
    container, subtype = _SOUNDFILE_TARGETS[fmt]
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=container, subtype=subtype)
    data = buffer.getvalue()
    if container == "OGG":
        data = fix_ogg_serial(data)
    return EncodedAudio(data, MEDIA_TYPES[fmt], rate)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited (windowed sinc) sample-rate conversion; duration and pitch stay the same."""
    if from_rate == to_rate or samples.size == 0:
        return samples
    import torch
    import torchaudio.functional

    out = torchaudio.functional.resample(torch.from_numpy(np.ascontiguousarray(samples)), from_rate, to_rate)
    return out.numpy().astype(np.float32, copy=False)


# --- Ogg: fixed stream serial number --------------------------------------------------------------

_OGG_SERIAL = 0x44494131  # "DIA1"; any constant works, it only has to be the same every time


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_CRC_TABLE = _ogg_crc_table()


def ogg_crc(data: bytes) -> int:
    """The Ogg page checksum: CRC-32, polynomial 0x04C11DB7, no reflection, zero initial value."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) & 0xFF) ^ byte]
    return crc


def fix_ogg_serial(data: bytes, serial: int = _OGG_SERIAL) -> bytes:
    """Set every page's stream serial number to `serial` and recompute the page checksums."""
    out = bytearray(data)
    pos = 0
    while pos < len(out):
        if out[pos:pos + 4] != b"OggS" or pos + 27 > len(out):
            raise ValueError(f"not an Ogg page at byte {pos}")
        segments = out[pos + 26]
        length = 27 + segments + sum(out[pos + 27:pos + 27 + segments])
        page = out[pos:pos + length]
        page[14:18] = serial.to_bytes(4, "little")
        page[22:26] = b"\0\0\0\0"
        page[22:26] = ogg_crc(bytes(page)).to_bytes(4, "little")
        out[pos:pos + length] = page
        pos += length
    return bytes(out)
