"""No Dia 1.6B fact is written into the faces or the document: they read the loaded model's `ModelInfo`.

Scans the Python tokens (not comments or docs) of projects/, gui/, server/, commands/ and main.py for the old
constants' names and literals. The released model ids live in one place, `projects/catalogue.py`."""

import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACES = [*(sorted((ROOT / d).rglob("*.py")) for d in ("projects", "gui", "server", "commands")), [ROOT / "main.py"]]
NAMES = {"SAMPLE_RATE", "FRAMES_PER_SECOND", "NUM_CHANNELS", "HOP_LENGTH", "DIA_DEFAULT_SAMPLING", "text_byte_length",
         "max_text_bytes", "MAX_TEXT_BYTES", "MAX_DECODER_FRAMES", "CHARS_PER_SECOND"}
NUMBERS = {"3072", "44100", "44_100", "86.13", "86.1"}  # Dia 1.6B's audio length, sample rate, frame rate
STRINGS = ("Dia-1.6B-0626", "35 s")
ALLOWED = {  # the setting of export rates names the two rates a user may pick
    "projects/model.py": {"44100"}, "projects/catalogue.py": {"Dia-1.6B-0626", "35 s"},
}


def _offences(path: Path) -> list[str]:
    relative = path.relative_to(ROOT).as_posix()
    allowed = ALLOWED.get(relative, set())
    found = []
    for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        text = token.string
        hit = ((token.type == tokenize.NAME and text in NAMES) or (token.type == tokenize.NUMBER and text in NUMBERS)
               or (token.type == tokenize.STRING and any(s in text for s in STRINGS)))
        if hit and not any(a in text for a in allowed):
            found.append(f"{relative}:{token.start[0]}: {text[:60]}")
    return found


def test_faces_read_model_facts_from_the_engines_description():
    offences = [o for files in FACES for path in files for o in _offences(path)]
    assert offences == []
