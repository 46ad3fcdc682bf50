"""Dia2's text tokenizer: the checkpoint's own byte-level BPE (`tokenizer.json`) through the `tokenizers` library.

Words are encoded without special tokens and without a leading space; `[S1]`, `[S2]` and the single-word
non-verbal tags are added tokens. The fixture checks every id against the reference's transformers tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ModelLoadError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


class Dia2Tokenizer:
    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        path = folder / "tokenizer.json"
        if not path.is_file():
            raise ModelLoadError(f"tokenizer file missing: {path} (Dia2 checkpoints ship tokenizer.json)")
        try:
            self._tok = Tokenizer.from_file(str(path))
        except Exception as exc:
            raise ModelLoadError(f"cannot read tokenizer {path}: {exc}") from None
        self.spk1 = self._required_id("[S1]", path)
        self.spk2 = self._required_id("[S2]", path)
        self.bos_id = self._bos_id(folder)

    def _required_id(self, token: str, path: Path) -> int:
        token_id = self._tok.token_to_id(token)
        if token_id is None:
            raise ModelLoadError(f"tokenizer {path} has no '{token}' token")
        return token_id

    def _bos_id(self, folder: Path) -> int | None:
        """The bos token's id as the tokenizer config names it (None when it names none)."""
        for name in ("tokenizer_config.json", "special_tokens_map.json"):
            file = folder / name
            if not file.is_file():
                continue
            try:
                bos = json.loads(file.read_text(encoding="utf-8")).get("bos_token")
            except (OSError, ValueError, AttributeError) as exc:
                raise ModelLoadError(f"cannot read tokenizer file {file}: {exc}") from None
            if isinstance(bos, dict):
                bos = bos.get("content")
            if isinstance(bos, str):
                return self._tok.token_to_id(bos)
        return None

    @property
    def text_bos(self) -> int:
        """The main-text token of the first step: the bos id, or 1 where that is 0 or missing (reference rule)."""
        return self.bos_id if self.bos_id else 1

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def speaker_tag(self, speaker: int) -> str:
        return "[S1]" if speaker == self.spk1 else "[S2]"
