"""Model descriptions for tests of limits and estimates: the tiny fixtures' own, and the released models' limits
(Dia 1.6B: 1024 bytes of text, 3072 frames; Dia2: 1500 steps) on the tiny fixtures' description."""

from __future__ import annotations

import dataclasses

from dia_engine.describe import describe

from conftest import DATA, TINY_MODEL

TINY_DIA = describe(TINY_MODEL)
TINY_DIA2 = describe(DATA / "dia2-tiny")
DIA_16B = dataclasses.replace(TINY_DIA, model_id="nari-labs/Dia-1.6B-0626", text_limit=1024, max_frames=3072)
DIA2_2B = dataclasses.replace(TINY_DIA2, model_id="nari-labs/Dia2-2B", variant="2b", text_limit=1500,
                              max_frames=1500)
