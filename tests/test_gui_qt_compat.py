"""The guard against PySide6 6.12.0's reference leak keeps long sessions alive (see gui/qt_compat.py)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal, QTimer

from gui import qt_compat


class Emitter(QObject):
    ping = Signal(int)


def test_many_slot_calls_and_emits_do_not_exhaust_singletons(qtbot):
    none_leaks, true_leaks = qt_compat.drops_references()
    assert qt_compat.PROTECTED == ((none_leaks or true_leaks) and sys.version_info < (3, 12))
    emitter = Emitter()
    calls = []
    emitter.ping.connect(calls.append)
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(lambda: emitter.ping.emit(len(calls)))
    timer.start()
    # More slot calls than None or True had references before the guard: unguarded, this aborts the process.
    qtbot.waitUntil(lambda: len(calls) >= 12_000, timeout=60_000)
    timer.stop()
    assert sys.getrefcount(None) > 1000 and sys.getrefcount(True) > 1000
