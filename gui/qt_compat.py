"""A guard against a reference-counting bug of PySide6 6.12.0 on Python 3.11.

With that release every call from Qt into a Python slot drops one reference to `None`, and every Python-side
`Signal.emit()` drops one to `True`. On Python 3.11 these are ordinary refcounted objects, so after a few
thousand slot calls (a 30 ms playback timer needs three minutes) the count reaches zero and the interpreter
aborts with "none_dealloc" or "bool_dealloc". Python 3.12 made these singletons immortal: their count can no
longer reach zero. `protect_singletons()` does the same for 3.11 when, and only when, the running PySide6 is
found to drop references: it adds 2**40 to their counts, which no session can use up. A fixed PySide6 needs
nothing here (6.11.x is unaffected)."""

from __future__ import annotations

import ctypes
import platform
import sys

from PySide6.QtCore import QObject, Signal

MARGIN = 1 << 40
_PROBES = 16


class _Probe(QObject):
    ping = Signal()


def drops_references() -> tuple[bool, bool]:
    """(slot calls drop None, emits drop True), measured on a throw-away object."""
    probe = _Probe()
    probe.objectNameChanged.connect(lambda _name: None)
    before = sys.getrefcount(None)
    for i in range(_PROBES):
        probe.setObjectName(f"probe{i}")
    none_lost = before - sys.getrefcount(None)
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.ping.emit()
    true_lost = before - sys.getrefcount(True)
    return none_lost >= _PROBES, true_lost >= _PROBES


def _add_references(obj, count: int) -> None:
    # CPython keeps the reference count in the first word of every object.
    ctypes.c_ssize_t.from_address(id(obj)).value += count


def protect_singletons() -> bool:
    """Make None, True and False effectively immortal if this PySide6 leaks their references. Returns whether
    it had to."""
    if sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False
    none_leaks, true_leaks = drops_references()
    if not (none_leaks or true_leaks):
        return False
    for obj in (None, True, False):
        if sys.getrefcount(obj) < MARGIN:
            _add_references(obj, MARGIN)
    return True


PROTECTED = protect_singletons()
