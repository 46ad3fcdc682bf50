"""The description (`dia_engine.ModelInfo`) of the model the editor generates with, for limits and estimates.

Read from the model's config on this machine (a folder or the hub cache; never the network, so the UI thread
may ask) and remembered per model id. None when the model is not here yet: the editor then checks only what
needs no model, and the description arrives with the first download.
"""

from __future__ import annotations

import logging

from dia_engine import ModelInfo, ModelLoadError
from dia_engine.describe import describe

log = logging.getLogger(__name__)

_known: dict[str, ModelInfo | None] = {}


def local_model_info(model_id: str) -> ModelInfo | None:
    if model_id not in _known:
        try:
            _known[model_id] = describe(model_id, local_only=True)
        except ModelLoadError as error:
            log.info("model %s cannot be described yet: %s", model_id, error)
            _known[model_id] = None
    return _known[model_id]


def remember(info: ModelInfo) -> None:
    """The loaded engine's own description, which wins over the one read from disk."""
    _known[info.model_id] = info


def forget(model_id: str | None = None) -> None:
    """Read the description again next time (after a download, or a folder's config changed)."""
    if model_id is None:
        _known.clear()
    else:
        _known.pop(model_id, None)
