"""Errors the engine raises with messages meant for end users."""


class DiaEngineError(Exception):
    """Base class for engine errors."""


class ModelLoadError(DiaEngineError):
    """The model or codec could not be loaded (missing file, bad config, wrong tensor, no network)."""


class GenerationOutOfMemory(DiaEngineError):
    """The device ran out of memory even at batch size 1."""


class AudioInputError(DiaEngineError, ValueError):
    """A voice clip could not be read or is unusable."""
