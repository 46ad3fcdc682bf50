"""Playback: the buffer the audio callback reads, and a clear message when there is no way to play."""

from __future__ import annotations

import numpy as np

from gui.playback import PlaybackBuffer, Player
from gui.waveform import envelope, resample_envelope


def test_buffer_feeds_callback_blocks_then_silence():
    audio = np.arange(10, dtype=np.float32)
    buf = PlaybackBuffer(audio, sample_rate=10, start_seconds=0.3)
    out = np.full((4, 2), -1.0, np.float32)
    assert buf.fill(out) == 4
    assert out[:, 0].tolist() == [3, 4, 5, 6] and np.array_equal(out[:, 0], out[:, 1])
    assert buf.fill(out) == 3
    assert out[:, 0].tolist() == [7, 8, 9, 0]  # padded with silence after the end
    assert buf.finished and buf.position == 10


def test_buffer_start_is_clamped():
    buf = PlaybackBuffer(np.ones(5, np.float32), 10, start_seconds=99)
    assert buf.finished
    assert PlaybackBuffer(np.ones(5, np.float32), 10, start_seconds=-1).position == 0


def test_player_reports_why_it_cannot_play(qtbot):
    player = Player()
    if player.available:  # a machine with PortAudio and a device: playing must start
        assert player.play(np.zeros(4410, np.float32), 44100)
        player.stop()
    else:
        assert player.unavailable_reason.startswith("Playback is off:")
        assert not player.play(np.zeros(10, np.float32), 44100)
        assert not player.is_playing


def test_envelope_keeps_peaks():
    audio = np.zeros(10000, np.float32)
    audio[1234] = 0.9
    audio[8000] = -0.7
    env = envelope(audio, points=100)
    assert env.shape == (100, 2)
    assert env[:, 1].max() == np.float32(0.9) and env[:, 0].min() == np.float32(-0.7)
    cols = resample_envelope(env, 7)
    assert cols.shape == (7, 2) and cols[:, 1].max() == np.float32(0.9) and cols[:, 0].min() == np.float32(-0.7)
