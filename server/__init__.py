"""Dia Studio's local speech server: `/generate` and OpenAI-compatible `/v1/audio/speech` on one engine.

`create_app(engine, voices)` builds the FastAPI app; `runner` serves it with uvicorn.
"""

from .app import create_app
from .voices import Voice, VoiceLibrary, VoiceLibraryError

__all__ = ["Voice", "VoiceLibrary", "VoiceLibraryError", "create_app"]
