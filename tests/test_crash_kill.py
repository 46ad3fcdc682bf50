"""Crash safety: a process writing takes and saving the project is killed with SIGKILL at random moments, 50
times; after each kill the project opens (or offers its backup) and every take the process reported saved is
there, readable and recorded; no take file is left without its record."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import numpy as np

from projects.project import Project
from projects.store import CorruptProjectError
from projects.takes import take_problem

KILLS = 50
RATE = 44100


def _work(folder: str, log: str, seed: int) -> None:
    """Add takes and edit/save the script as fast as possible, logging each take once add_take returned."""
    project = Project.open(Path(folder))
    rng = random.Random(seed)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    for i in range(10_000):
        line = rng.choice(project.lines)
        audio = np.full(rng.randint(500, 40_000), rng.random() * 0.1, dtype=np.float32)
        take = project.add_take(line.id, audio, RATE, seed=i, sampling=project.doc.sampling, model_id="kill",
                                fingerprint=project.fingerprint(line.id))
        os.write(fd, f"{take.file}\n".encode())  # reported saved: add_take has returned
        if rng.random() < 0.5:
            lines = project.doc.script.split("\n")
            lines.insert(rng.randrange(len(lines) + 1), f"[S{rng.randint(1, 2)}] Line {seed}-{i}.")
            if len(lines) > 6 and rng.random() < 0.5:
                del lines[rng.randrange(len(lines))]
            project.set_script("\n".join(lines))
            project.save()


def _open(folder: Path) -> Project:
    try:
        return Project.open(folder)
    except CorruptProjectError as error:  # the app offers the backup: take it
        assert error.backup is not None, str(error)
        return Project.restore_backup(folder, error.backup)


def test_sigkill_during_saves_and_take_writes_loses_no_reported_take(tmp_path):
    folder = tmp_path / "p"
    project = Project.create(folder)
    project.set_script("[S1] One.\n[S2] Two.\n[S1] Three.")
    project.save()
    log = tmp_path / "saved.log"
    log.touch()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["projects.project", "numpy"])
    rng = random.Random(11)
    for kill in range(KILLS):
        child = context.Process(target=_work, args=(str(folder), str(log), kill))
        child.start()
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL, "the writer finished or failed before it was killed"
        reopened = _open(folder)
        reported = set(log.read_text().split())
        records = {t.file: t for line in reopened.doc.lines + reopened.doc.removed_lines for t in line.takes}
        missing = reported - set(records)
        assert not missing, f"kill {kill}: reported takes lost: {sorted(missing)[:5]}"
        for file in reported:
            assert take_problem(folder, records[file]) is None, f"kill {kill}: {file} damaged"
        on_disk = {f"takes/{p.name}" for p in (folder / "takes").glob("*.wav")}
        assert on_disk == set(records), f"kill {kill}: take files without records: {sorted(on_disk - set(records))}"
    assert len(set(log.read_text().split())) > KILLS  # the kills did land among saves and take writes
