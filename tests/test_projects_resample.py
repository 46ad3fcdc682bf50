"""Resampling takes of another rate to the export rate: length, pitch and level kept, nothing above Nyquist."""

import numpy as np
import pytest

from projects.audio import resample


def _tone(freq, rate, seconds=1.0):
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(audio, rate):
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return np.argmax(spectrum) * rate / len(audio)


@pytest.mark.parametrize("to_rate", [44100, 48000])
def test_a_dia2_take_at_24k_keeps_length_pitch_and_level(to_rate):
    out = resample(_tone(1000, 24000), 24000, to_rate)
    assert out.dtype == np.float32 and len(out) == to_rate
    assert _peak_hz(out, to_rate) == pytest.approx(1000, abs=2)
    middle = out[to_rate // 10 : -to_rate // 10]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)


def test_downsampling_removes_what_the_new_rate_cannot_hold():
    out = resample(_tone(23000, 48000), 48000, 44100)  # above 22.05 kHz: must vanish, not alias to 21.1 kHz
    assert np.max(np.abs(out[4410:-4410])) < 1e-3


def test_same_rate_is_untouched_and_results_are_deterministic():
    tone = _tone(440, 44100)
    assert resample(tone, 44100, 44100) is tone
    assert np.array_equal(resample(tone, 44100, 48000), resample(tone, 44100, 48000))
    assert len(resample(np.zeros(0, np.float32), 24000, 48000)) == 0
