"""Sampling parameters per model family: which fields a family has (for forms and the CLI), its defaults, the values
a project keeps for each family, and turning stored values into the engine's `SamplingParams`.

A project stores the values of the family it uses now and keeps those of the other families aside
(`Project.use_sampling_of`), so switching from Dia 1.6B to Dia2 and back restores every value the creator set. A stored field left None means the family's
default (`ModelInfo.default_sampling`), so a new project follows the model it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dia_engine import ModelInfo, SamplingParams

STORED_FIELDS = SamplingParams.FIELDS + ("max_tokens",)


@dataclass(frozen=True)
class FieldSpec:
    """How a sampling parameter is shown and entered: the form's spin box and the CLI option."""

    name: str  # the SamplingParams field
    label: str
    kind: type  # float or int
    minimum: float
    maximum: float
    step: float
    help: str

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


FIELD_SPECS = {
    spec.name: spec for spec in (
        FieldSpec("cfg_scale", "CFG scale", float, 0.0, 10.0, 0.1, "how strongly the text steers the audio"),
        FieldSpec("temperature", "Temperature", float, 0.0, 3.0, 0.05, "randomness; 0 = always the likeliest token"),
        FieldSpec("top_p", "Top-p", float, 0.01, 1.0, 0.01, "nucleus sampling: keep the likeliest tokens up to p"),
        FieldSpec("top_k", "Top-k", int, 1, 4096, 1, "keep only the k likeliest audio tokens"),
        FieldSpec("text_temperature", "Text temperature", float, 0.0, 3.0, 0.05,
                  "randomness of the text stream (when the next word starts); 0 = greedy"),
        FieldSpec("text_top_k", "Text top-k", int, 1, 4096, 1, "keep only the k likeliest text-stream actions"),
        FieldSpec("cfg_filter_top_k", "CFG filter top-k", int, 1, 4096, 1,
                  "guided top-k filter of the conditional logits"),
    )
}


def form_fields(info: ModelInfo) -> list[FieldSpec]:
    """The parameters `info`'s family reads, in its order, labelled for it (Dia2's temperature is the audio's)."""
    specs = []
    for name in info.sampling_fields:
        spec = FIELD_SPECS[name]
        if name in ("temperature", "top_k") and "text_temperature" in info.sampling_fields:
            spec = FieldSpec(spec.name, "Audio " + spec.label.lower(), spec.kind, spec.minimum, spec.maximum,
                             spec.step, spec.help.replace("token", "audio token"))
        specs.append(spec)
    return specs


def defaults(info: ModelInfo) -> dict[str, float | int]:
    """The family's default for each parameter it reads."""
    return {name: getattr(info.default_sampling, name) for name in info.sampling_fields}


def foreign_fields(info: ModelInfo, values: Mapping[str, object]) -> list[str]:
    """The parameters set in `values` that `info`'s family does not have."""
    return [name for name in SamplingParams.FIELDS if name not in info.sampling_fields and values.get(name) is not None]


def to_params(info: ModelInfo, values: Mapping[str, object]) -> SamplingParams:
    """The engine's parameters for stored `values` with every unset field at the family's default.

    Raises ValueError naming the parameters the family does not have, or a value out of range."""
    params = SamplingParams(**{name: values.get(name) for name in STORED_FIELDS})
    return info.resolve_sampling(params)


def resolved_values(info: ModelInfo, values: Mapping[str, object]) -> dict[str, float | int | None]:
    """What a take is made with, as recorded with it: the family's parameters (defaults filled in) and
    max_tokens, so the take says every value even where the project followed the family's defaults."""
    params = to_params(info, values)
    out: dict[str, float | int | None] = {name: getattr(params, name) for name in info.sampling_fields}
    out["max_tokens"] = params.max_tokens
    return out


def canonical(info: ModelInfo, values: Mapping[str, object]) -> dict[str, object]:
    """`values` as a project stores them: a value equal to the family's default becomes None (follow the
    default), so a default typed in and one left alone are the same take; a max_tokens of 0 means automatic."""
    out: dict[str, object] = {}
    for name in STORED_FIELDS:
        value = values.get(name)
        if name == "max_tokens":
            out[name] = value or None
        elif value is not None and name in info.sampling_fields and value == getattr(info.default_sampling, name):
            out[name] = None
        else:
            out[name] = value
    return out


_SHORT = {"cfg_scale": "cfg", "temperature": "T", "top_p": "p", "top_k": "top-k", "text_temperature": "text T",
          "text_top_k": "text top-k", "cfg_filter_top_k": "filter k"}


def summary(values: Mapping[str, object], info: ModelInfo | None = None) -> str:
    """One line for the inspector: the family's parameters with defaults filled in when `info` is given, else
    the values that are set ("defaults" when none is)."""
    if info is not None:
        try:
            shown = resolved_values(info, values)
        except ValueError:
            shown = dict(values)
    else:
        shown = dict(values)
    parts = [f"{_SHORT[name]} {shown[name]:g}" for name in _SHORT if shown.get(name) is not None]
    if shown.get("max_tokens"):
        parts.append(f"max {shown['max_tokens']}")
    return " · ".join(parts) or "the model's defaults"


def tooltip(values: Mapping[str, object], info: ModelInfo | None = None) -> str:
    """Each parameter on its own row, named as the form names it."""
    shown = resolved_values(info, values) if info is not None and not foreign_fields(info, values) else dict(values)
    rows = [f"{FIELD_SPECS[name].label} {shown[name]:g}" for name in FIELD_SPECS if shown.get(name) is not None]
    rows.append(f"Max tokens {shown.get('max_tokens') or 'automatic'}")
    return "\n".join(rows)
