"""Play as it renders: the pure queue, and the editor end to end with audio output faked at sounddevice."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from gui.live_playback import LiveChunk, LiveQueue

from test_gui_app import make_window, new_project, questions, wait_generation  # noqa: F401 (fixtures)

RATE = 1000  # a round rate keeps the gaps readable in the queue tests


def chunk(line, samples, part=0, parts=1):
    return LiveChunk(line, part, parts, None if samples is None else np.asarray(samples, np.float32), 0, RATE)


def pull(queue: LiveQueue, frames: int) -> tuple[np.ndarray, int]:
    out = np.full((frames, 1), np.nan, np.float32)
    written = queue.fill(out)
    assert not np.isnan(out).any()
    return out[:, 0], written


def test_lines_play_in_order_with_their_gaps_and_parts_in_order():
    q = LiveQueue(RATE)
    q.expect("a", gap_ms=500)  # the first line played gets no gap
    q.expect("b", gap_ms=20)
    a, b0, b1 = np.linspace(0.1, 0.2, 30), np.full(10, 0.5), np.full(15, -0.5)
    q.add_chunk(chunk("b", b1, part=1, parts=2))  # part 1 renders before part 0 is finished
    q.add_chunk(chunk("b", b0, part=0, parts=2))
    q.add_chunk(chunk("a", a[:12]))
    q.add_chunk(chunk("a", a[12:]))
    for line, part, parts in (("a", 0, 1), ("b", 0, 2), ("b", 1, 2)):
        q.add_chunk(chunk(line, None, part, parts))
    q.close()
    out, written = pull(q, 200)
    expected = np.concatenate([a, np.zeros(20), b0, b1]).astype(np.float32)
    assert written == len(expected) and np.array_equal(out[:written], expected)
    assert not out[written:].any() and q.done


def test_playback_waits_for_rendering_and_resumes_without_inserting_silence():
    q = LiveQueue(RATE)
    q.expect("a")
    audio = np.linspace(-0.9, 0.9, 100).astype(np.float32)
    q.add_chunk(chunk("a", audio[:40]))
    out, written = pull(q, 64)  # faster than generation: 40 rendered, then it waits
    assert written == 40 and q.waiting and q.current_line == "a" and not out[40:].any()
    heard = [out[:written]]
    q.add_chunk(chunk("a", audio[40:]))
    out, written = pull(q, 50)  # generation caught up: no silence inside the line
    assert written == 50 and not q.waiting
    heard.append(out)
    q.add_chunk(chunk("a", None))
    out, written = pull(q, 50)
    heard.append(out[:written])
    assert np.array_equal(np.concatenate(heard), audio)
    assert q.waiting and not q.done  # played through; the run may still start more lines
    q.close()
    assert q.done


def test_a_failed_line_is_skipped_and_a_stopped_run_plays_what_rendered():
    q = LiveQueue(RATE)
    for line in ("a", "b", "c"):
        q.expect(line, gap_ms=10)
    q.end_line("a")  # failed before any audio
    q.add_chunk(chunk("b", np.ones(5)))
    q.close()  # Stop: b's rest and c never come
    out, written = pull(q, 40)
    assert written == 5 and np.array_equal(out[:5], np.ones(5)) and q.done


# --- the editor, offscreen, with a fake sounddevice -----------------------------------------------------------------

class FakeStream:
    """sounddevice.OutputStream without a device: the test pulls its callback like PortAudio would."""

    opened: list["FakeStream"] = []

    def __init__(self, samplerate, channels, dtype, callback):
        self.samplerate, self.callback, self.active = samplerate, callback, False
        FakeStream.opened.append(self)

    def start(self):
        self.active = True

    def abort(self):
        self.active = False

    def close(self):
        self.active = False

    def pull(self, frames: int) -> np.ndarray:
        out = np.zeros((frames, 1), np.float32)
        self.callback(out, frames, None, None)
        return out[:, 0]


@pytest.fixture
def fake_sounddevice(monkeypatch):
    module = types.ModuleType("sounddevice")
    module.OutputStream = FakeStream
    module.CallbackStop = type("CallbackStop", (Exception,), {})
    module.query_devices = lambda kind=None: {"name": "fake output"}
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    FakeStream.opened = []
    return module


def test_play_as_it_renders_follows_the_lines_while_others_render(qtbot, fake_sounddevice, make_window):  # noqa: F811
    window = make_window()
    new_project(window)  # four lines, one batch
    live = window.live_view
    assert live.action.isEnabled()
    live.action.setChecked(True)
    heard: list[np.ndarray] = []
    grew: dict[str, list[int]] = {}
    labels: list[str] = []
    player = live.player

    def listen(line_id: str) -> None:  # on the GUI thread, after each chunk joined the queue
        clips = {line: len(audio) for line, _, audio in live.live_clips()}
        if line_id in clips:
            grew.setdefault(line_id, []).append(clips[line_id])
        window.timeline.view.grab()  # paints the live waveform
        stream = FakeStream.opened[-1]
        before = player.queue.played
        block = stream.pull(RATE_44K // 2)  # playback half a second ahead each time: it catches up and waits
        heard.append(block[: player.queue.played - before])
        player._poll()
        labels.append(live.label.text())

    player.audioGrew.connect(listen)
    assert not wait_generation(qtbot, window, window.act_generate_all.trigger)
    assert len(FakeStream.opened) == 1
    qtbot.waitUntil(lambda: player.queue is None or player.queue.closed, timeout=5000)
    queue = player.queue
    for _ in range(100):  # the rest plays out after generation
        if queue is None or queue.done:
            break
        before = queue.played
        block = FakeStream.opened[-1].pull(RATE_44K)
        heard.append(block[: queue.played - before])
    project = window.session.project
    pieces = []
    for i, line in enumerate(project.lines):
        if i:
            pieces.append(np.zeros(int(round(project.doc.default_gap_ms * RATE_44K / 1000)), np.float32))
        pieces.append(project.take_audio(line.id, line.active_take))
    expected = np.concatenate(pieces)
    got = np.concatenate(heard)
    assert len(got) == len(expected)
    assert np.abs(got - expected).max() < 1e-4  # every line, in order, with its gap, no silence added
    assert any("waiting" in text for text in labels)  # playback outran generation and said so
    assert any(len(sizes) >= 2 and sizes == sorted(sizes) and sizes[-1] > sizes[0] for sizes in grew.values())
    qtbot.waitUntil(lambda: not player.is_playing, timeout=5000)
    assert live.label.text() == ""


RATE_44K = 44100
