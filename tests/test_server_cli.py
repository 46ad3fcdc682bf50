"""`python main.py serve` as a user runs it: a real process, its output, Ctrl+C, and its startup errors."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
TINY = ["--model", str(DATA / "dia-tiny"), "--codec", str(DATA / "dac-tiny" / "weights.pth"), "--device", "cpu"]
TIMEOUT = 180


def serve_command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), "serve", *args]


def environment() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("DIA_STUDIO_API_KEY", None)
    return env


def make_voices(folder: Path) -> Path:
    folder.mkdir()
    t = np.arange(13230) / 44100
    sf.write(str(folder / "narrator.wav"), (0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32), 44100)
    (folder / "narrator.txt").write_text("Once upon a time.", encoding="utf-8")
    sf.write(str(folder / "untranscribed.wav"), (0.3 * np.sin(2 * np.pi * 250 * t)).astype(np.float32), 44100)
    return folder


def test_serve_runs_answers_and_stops_on_ctrl_c(tmp_path):
    voices = make_voices(tmp_path / "voices")
    process = subprocess.Popen(serve_command("--port", "0", "--voices", str(voices), "--api-key", "k", *TINY),
                               cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        url = None
        while url is None:  # the banner names the port the system picked
            line = lines.get(timeout=TIMEOUT)
            found = re.search(r"speech server on (http://127\.0\.0\.1:\d+)", line)
            url = found and found.group(1)
        auth = {"Authorization": "Bearer k"}
        assert httpx.get(url + "/health", timeout=30).json()["voices"] == 1
        voices_answer = httpx.get(url + "/voices", headers=auth, timeout=30).json()["voices"]
        assert [voice["id"] for voice in voices_answer] == ["narrator", "random"]
        speech = httpx.post(url + "/v1/audio/speech", headers=auth, timeout=TIMEOUT,
                            json={"model": "tts-1", "voice": "narrator", "input": "The end.", "response_format": "wav",
                                  "seed": 3, "max_tokens": 60})
        assert speech.status_code == 200 and speech.headers["x-seed"] == "3"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    stderr = process.stderr.read()
    assert code == 0, stderr
    assert "untranscribed.wav: skipped, no transcript untranscribed.txt beside it" in stderr
    assert "Traceback" not in stderr


def serve_in_process(capsys, *args: str) -> tuple[int, str]:
    """Run `main.py serve ...` in this process (startup errors need no subprocess); returns (code, stderr)."""
    from main import main

    try:
        code = main(["serve", *args])
    except SystemExit as exit_:  # argparse reports usage errors by exiting
        code = exit_.code
    return code, capsys.readouterr().err


def test_taken_port_fails_before_loading_the_model(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # The model folder does not exist: only a check made before loading it can report the port.
        code, stderr = serve_in_process(capsys, "--port", str(port), "--model", "/nonexistent/model")
    assert code == 2 and stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")


def test_startup_errors_are_one_clear_line(tmp_path, capsys):
    code, stderr = serve_in_process(capsys, "--voices", str(tmp_path / "nope"), *TINY)
    assert code == 2 and stderr == f"error: voices folder not found: {tmp_path / 'nope'}\n"
    code, stderr = serve_in_process(capsys, "--project", str(tmp_path), *TINY)
    assert code == 2 and "is not a Dia Studio project" in stderr
    code, stderr = serve_in_process(capsys, "--port", "70000")
    assert code == 2 and "--port must be between 0 and 65535" in stderr
    code, stderr = serve_in_process(capsys, "--api-key", " ")
    assert code == 2 and "--api-key is empty" in stderr
    code, stderr = serve_in_process(capsys, "--voices", "a", "--project", "b")
    assert code == 2 and "not allowed with argument" in stderr
    code, stderr = serve_in_process(capsys, "--port", "0", "--model", str(tmp_path / "no-model"))
    assert code == 2 and stderr.startswith("error: ") and "Traceback" not in stderr


def test_codes_only_engine_is_refused(capsys):
    code, stderr = serve_in_process(capsys, "--port", "0", *TINY[:2], "--codec", "none", "--device", "cpu")
    assert code == 2
    assert stderr.strip() == "error: the server returns audio, so it needs the codec: drop '--codec none'"
