"""Saving the document shortly after each change, on a thread of its own.

The editor calls `request()` after every change; within `delay` seconds the project is written (atomically,
fsynced) off the UI thread, so a crash loses at most about the last second of edits and the window never
waits on the disk. Requests that arrive while a save runs are coalesced into one more save.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
SAVE_DELAY_S = 0.3  # edits in a burst (typing) are written together


class BackgroundSaver:
    def __init__(self, save: Callable[[], None], *, on_saved: Callable[[int], None] | None = None,
                 on_error: Callable[[str], None] | None = None, delay: float = SAVE_DELAY_S) -> None:
        """`save` writes the document; `on_saved(token)` says every request up to `token` is on disk;
        `on_error(message)` reports a failed save (a full disk, a read-only folder): the next request retries."""
        self._save, self._on_saved, self._on_error, self._delay = save, on_saved, on_error, delay
        self._cond = threading.Condition()
        self._token = 0  # newest request
        self._done = 0  # newest request handled (saved or failed)
        self._saved = 0  # newest request saved
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="autosave", daemon=True)
        self._thread.start()

    def request(self) -> int:
        """Ask for a save soon; returns this request's token."""
        with self._cond:
            return self.request_as(self._token + 1)

    def request_as(self, token: int) -> int:
        """Ask for a save soon, naming the request by a caller's number (e.g. a count of changes)."""
        with self._cond:
            self._token = max(self._token, token)
            self._cond.notify()
            return self._token

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every request so far is saved (or failed); True when they were saved."""
        with self._cond:
            target = self._token
            self._cond.notify()
            self._cond.wait_for(lambda: self._done >= target or self._closed, timeout)
            return self._saved >= target

    def close(self) -> None:
        """Save what is pending, then end the thread."""
        self.flush(timeout=30)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._token > self._done or self._closed)
                if self._closed:
                    return
            threading.Event().wait(self._delay)  # let a burst of edits arrive
            with self._cond:
                token = self._token
            try:
                self._save()
            except Exception as error:  # noqa: BLE001 (reported to the user; the next change retries)
                log.warning("autosave failed: %s", error)
                _notify(self._on_error, str(error) or type(error).__name__)
                with self._cond:
                    self._done = max(self._done, token)  # no retry loop on a full disk: the next change asks again
                    self._cond.notify_all()
                continue
            with self._cond:
                self._done = max(self._done, token)
                self._saved = max(self._saved, token)
                self._cond.notify_all()
            _notify(self._on_saved, token)


def _notify(callback: Callable | None, value) -> None:
    """Tell the owner; an owner already gone (its window closed during a crash test, ...) is no error here."""
    if callback is None:
        return
    try:
        callback(value)
    except RuntimeError as error:
        log.debug("autosave listener gone: %s", error)
