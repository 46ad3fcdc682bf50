"""Render the real editor window in its key states to docs/*.png (the README shows docs/screenshot.png).

Uses the tiny random test model (tests/data/dia-tiny + the tiny DAC), so the "speech" is noise, but every
pixel comes from the real app: the project is generated through the real worker thread, one line is edited
afterwards (stale), one is left to generate, and the main shot is taken while the last line is being generated.

    python scripts/make_screenshot.py [--out-dir docs]

writes
    screenshot.png                   a full project: takes, a stale line, a line generating, the timeline
    screenshot-first-start.png       the window as a new user first sees it
    screenshot-stale-line.png        the cursor on a line edited after its take: the inspector says why
    screenshot-speaker-warnings.png  the speakers panel with a clip that waits for its transcript and warnings
    screenshot-export.png            the export dialog
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QSettings  # noqa: E402

from gui.app import application  # noqa: E402
from gui.settings import AppSettings, EngineSettings  # noqa: E402

SCRIPT = """[S1] Welcome back to Open Weights, the show about models you can run yourself. (laughs)
[S2] Thanks, Maya. It's good to be back in the studio.
[S1] Today we're talking about dialogue generation. Two voices, one model.
[S2] (clears throat) Right. You write the script, and the model performs both sides.
[S1] And every line can be regenerated until it sounds right?
[S2] Exactly. Pin a seed you like and it comes back the same, every time.
[S1] So what happens with a tag it doesn't know, like (dances)?
[S2] The editor underlines it, so you catch it before you render the episode.
[S1] Let's hear a take of that. (sighs) Okay, one more time from the top."""

SEED = 3
VOICES = {"S1": ("Maya", 190.0, "Hi, I'm Maya, and this is how I sound on the show."),
          "S2": ("Theo", 120.0, "And I'm Theo. I usually take the second voice.")}


def synth_voice(path: Path, pitch: float, seed: int, seconds: float = 3.2, rate: int = 44100) -> Path:
    """A voice-like stand-in for a recording: a gliding harmonic tone in syllables of random length and level,
    with pauses between words."""
    rng = np.random.default_rng(seed)
    envelope = np.zeros(int(seconds * rate))
    pos = int(0.1 * rate)
    while pos < len(envelope):
        length = int(rng.uniform(0.08, 0.3) * rate)
        envelope[pos:pos + length] = rng.uniform(0.3, 1.0) * np.hanning(length)[: len(envelope) - pos]
        pos += length + int(rng.choice([0.01, 0.03, 0.2], p=[0.6, 0.3, 0.1]) * rate)
    t = np.arange(len(envelope)) / rate
    f0 = pitch * (1 + 0.08 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 6)) + 0.05 * rng.standard_normal(len(t))
    sf.write(path, (0.3 * tone * envelope).astype(np.float32), rate)
    return path


def pump(app, ms: int) -> None:
    clock = QElapsedTimer()
    clock.start()
    while clock.elapsed() < ms:
        app.processEvents()


def wait_until(app, predicate, timeout_ms: int = 900_000) -> None:
    clock = QElapsedTimer()
    clock.start()
    while not predicate():
        if clock.elapsed() > timeout_ms:
            raise TimeoutError("the demo project took too long to generate")
        app.processEvents()


def shoot(app, widget, path: Path) -> None:
    pump(app, 100)
    widget.grab().save(str(path))
    print(f"wrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    parser.add_argument("--seed", type=int, default=SEED, help="project seed (every take's seed derives from it)")
    args = parser.parse_args()
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    app = application()
    from gui.export_dialog import ExportDialog
    from gui.main_window import MainWindow

    work = Path(tempfile.mkdtemp(prefix="dia-studio-shot-"))
    settings = AppSettings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    settings.set_engine(EngineSettings(model=str(ROOT / "tests/data/dia-tiny"),
                                       codec=str(ROOT / "tests/data/dac-tiny/weights.pth"),
                                       device="cpu", dtype="float32", batch_size=4))
    window = MainWindow(settings, scratch_root=work / "scratch")
    window.resize(1600, 980)
    window.show()
    window.new_project()
    shoot(app, window, out / "screenshot-first-start.png")

    # A short, clipping clip chosen for S2 before its transcript: the card lists every warning, and nothing is
    # generated until the transcript is typed.
    loud = work / "loud.wav"
    raw, rate = sf.read(synth_voice(work / "raw.wav", 150.0, seed=5, seconds=1.6))
    sf.write(loud, np.clip(6 * raw, -1, 1).astype(np.float32), rate)
    window.speakers_panel.cards["S1"].set_clip_file(synth_voice(work / "host.wav", 190.0, seed=0))
    window.speakers_panel.cards["S2"].set_clip_file(loud)
    window.refresh_views()
    shoot(app, window.speakers_dock, out / "screenshot-speaker-warnings.png")
    for card in window.speakers_panel.cards.values():
        card.remove_clip()

    session = window.session
    session.project.doc.name = "Open Weights — Episode 12"
    session.project.doc.seed = args.seed
    window.editor.setPlainText(SCRIPT)
    window.sync_script()
    for n, (speaker_id, (name, pitch, transcript)) in enumerate(VOICES.items()):
        clip = synth_voice(work / f"{name}.wav", pitch, seed=n)
        session.change_speaker(speaker_id, name=name, transcript=transcript, clip=clip)
    window.speakers_panel.refresh()
    prompt_frames = 2 * 276  # two 3.2 s clips at ~86 frames a second
    # Temperature 1.8 as in Dia's own demo app; the tiny random model then talks a little longer.
    session.set_sampling(**{**session.project.sampling().model_dump(), "temperature": 1.8,
                            "max_tokens": prompt_frames + 400})
    session.set_pinned("L6", True)

    lines = session.line_ids()
    window.generate(lines[:-1], force=False)
    wait_until(app, lambda: not window.controller.busy)
    window.editor.move_to_block(6)
    window.generate([lines[6]], force=True)  # a second take of line 7
    wait_until(app, lambda: not window.controller.busy)
    session.set_gap(lines[3], 650.0)
    session.set_gain(lines[4], -2.0)

    # Line 8 is edited after its take was made: stale. The last line is generating when the shot is taken.
    cursor = window.editor.textCursor()
    block = window.editor.document().findBlockByNumber(7)
    cursor.setPosition(block.position() + block.length() - 1)
    cursor.insertText(" Every single time.")
    window.sync_script()
    window.editor.move_to_block(6)
    window.inspector.table.selectAll()  # both takes of line 7 selected: ready to compare A/B
    window.generate([lines[-1]], force=False)
    wait_until(app, lambda: (s := window.controller.live.get(lines[-1])) is not None and s.progress > 0.04)
    clip = window.snapshot.clip_for(lines[6]) if window.snapshot else None
    window.timeline.view.set_cursor(clip.start + clip.duration * 0.4 if clip else 0.0)
    shoot(app, window, out / "screenshot.png")
    window.controller.stop()
    wait_until(app, lambda: not window.controller.busy)

    window.editor.move_to_block(7)  # the edited line: stale, and the inspector shows its new text
    window.refresh_views()
    window.statusBar().clearMessage()
    shoot(app, window, out / "screenshot-stale-line.png")

    dialog = ExportDialog(session.project, settings.export(), window)
    dialog.show()
    shoot(app, dialog, out / "screenshot-export.png")
    dialog.close()
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
