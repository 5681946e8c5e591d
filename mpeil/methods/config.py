"""Scoring methods as data: a TOML file per method, validated with pydantic.

A method says which modules count, over which study period and area, how replacements
are counted, and how indicators become one score:
``score = score_scale × Σ_i factor_i × I_i`` with ``factor_i = weight_i / normalisation_i``
(EF single score) or a given ``factor_i`` (shadow prices, plain GWP).
"""

from __future__ import annotations

import functools
import hashlib
import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import MethodError, UnknownMethodError
from ..paths import data_dir, scenarios_dir
from ..readers.guards import read_regular

__all__ = ["IndicatorFactor", "Method", "load_method", "available_methods"]

#: a method file is a few KB; a larger one is no method file
_MAX_METHOD_BYTES = 1 << 20
_MODULES = ("A1-A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "C1", "C2", "C3", "C4", "D")


@functools.lru_cache(maxsize=2)
def method_ranges() -> dict[str, tuple[float, float]]:
    """``data/method_ranges.csv``: name → (minimum, maximum) of a method file's numbers (with sources there)."""
    import pandas as pd

    table = pd.read_csv(data_dir() / "method_ranges.csv", comment="#")
    return {str(r.name): (float(r.minimum), float(r.maximum)) for r in table.itertuples()}


def _in_range(name: str, value: float | None, what: str) -> None:
    """Raise ValueError (pydantic makes it a validation error) for a value outside its documented range."""
    if value is None:
        return
    low, high = method_ranges()[name]
    if not low <= value <= high:
        raise ValueError(f"{what}{name} = {value:g} is outside [{low:g}, {high:g}] (data/method_ranges.csv)")


class IndicatorFactor(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    code: str
    accepts: list[str] | None = None
    normalisation: float | None = Field(None, gt=0)
    weight: float | None = Field(None, ge=0, le=1)
    factor: float | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _one_way_to_a_factor(self) -> IndicatorFactor:
        if self.factor is None and (self.normalisation is None or self.weight is None):
            raise ValueError(f"indicator {self.code!r} needs `factor`, or `normalisation` and `weight`")
        _in_range("normalisation", self.normalisation, f"indicator {self.code!r}: ")
        _in_range("factor", self.factor, f"indicator {self.code!r}: ")
        return self

    @property
    def effective_factor(self) -> float:
        if self.factor is not None:
            return self.factor
        if self.weight is None or self.normalisation is None:  # refused by the validator above
            raise ValueError(f"indicator {self.code!r} needs `factor`, or `normalisation` and `weight`")
        return self.weight / self.normalisation

    @property
    def sources(self) -> list[str]:
        return self.accepts or [self.code]


class UncoveredIndicator(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    code: str
    note: str | None = None
    weight: float | None = None


class Method(BaseModel):
    """A validated scoring method: every number finite and within ``data/method_ranges.csv``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str
    title: str = ""
    description: str = ""
    score_unit: str
    score_scale: float = 1.0
    reference_study_period_years: float = Field(gt=0)
    reference_area: Literal["gross_floor_area"] = "gross_floor_area"
    per_year: bool = True
    modules: list[str]
    include_d: bool = False
    replacement_rule: Literal["ceil", "fractional", "elca"] = "ceil"
    replacement_modules: list[str] = Field(default_factory=lambda: ["A1-A3", "A4", "A5", "C1", "C2", "C3", "C4"])
    loss_basis: Literal["installed", "purchased"] = "installed"
    default_transport: str | None = "BE-default"
    eol_allocation: Literal["cutoff_d", "cff", "multicycle", "dk_zero"] = "cutoff_d"
    multicycle_split: Literal["equal", "first_last"] = "equal"
    #: undeclared indicators: leave them out (declared), fill them with peer estimates (estimated),
    #: or score only the indicators every line of every building scored together declares (common)
    gap_policy: Literal["declared", "estimated", "common"] = "declared"
    #: values the library screen flags: keep the declared value, or replace it by its peer estimate
    flagged_values: Literal["keep", "estimate"] = "keep"
    sources: list[str] = Field(default_factory=list)
    indicators: list[IndicatorFactor] = Field(min_length=1)
    uncovered: list[UncoveredIndicator] = Field(default_factory=list)
    fingerprint: str = ""
    #: options changed from the method file by :meth:`with_options` (option → value); outputs name
    #: them beside the method (:attr:`label`) so a variant is never shown as the method as published
    overrides: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Method:
        _in_range("score_scale", self.score_scale, "")
        _in_range("reference_study_period_years", self.reference_study_period_years, "")
        for module in [*self.modules, *self.replacement_modules]:
            if module not in _MODULES:
                raise ValueError(f"unknown module {module!r}; modules are {_MODULES}")
        if "D" in self.modules:
            raise ValueError("list D through include_d, not in modules: D is always reported apart")
        codes = [i.code for i in self.indicators]
        if len(set(codes)) != len(codes):
            raise ValueError("an indicator is listed twice")
        weights = [i.weight for i in self.indicators if i.weight is not None]
        if weights and math.isfinite(sum(weights)) and sum(weights) > 1 + 1e-6:
            raise ValueError(f"weights sum to {sum(weights):g} > 1")
        return self

    @property
    def scored_modules(self) -> list[str]:
        return [*self.modules, *(["D"] if self.include_d else [])]

    @property
    def label(self) -> str:
        """The method's name, followed by the options changed from its file: ``mpeil-ef31
        [flagged_values=keep]``."""
        if not self.overrides:
            return self.name
        return f"{self.name} [{', '.join(f'{k}={v}' for k, v in sorted(self.overrides.items()))}]"

    def with_options(self, **options) -> Method:
        """A copy with options changed (e.g. ``replacement_rule="fractional"``), validated again."""
        fields = type(self).model_fields
        unknown = sorted(k for k, v in options.items() if v is not None and k not in fields)
        if unknown:
            valid = ", ".join(sorted(k for k in fields if k != "overrides"))
            raise MethodError(f"unknown method option {unknown[0]!r}; valid options: {valid}", field=unknown[0])
        data = self.model_dump()
        changed = {k: v for k, v in options.items() if v is not None and data.get(k, object()) != v}
        data.update({k: v for k, v in options.items() if v is not None})
        data["overrides"] = {**self.overrides, **{k: v for k, v in changed.items() if k != "overrides"}}
        try:
            return Method.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise MethodError(
                f"invalid method options: {first['msg']}", field=".".join(map(str, first["loc"])) or None
            ) from None


def _methods_folder() -> Path:
    return scenarios_dir() / "methods"


def available_methods() -> list[str]:
    return sorted(p.stem for p in _methods_folder().glob("*.toml"))


def load_method(name_or_path: str | Path | Method) -> Method:
    """A shipped method by name (``"mpeil-ef31"``) or a TOML file of one's own.

    A name is looked up among :func:`available_methods` only (never joined to the methods folder as
    a path); a file of one's own is read if it is a regular ``.toml`` file (a pipe or device is
    refused by type). Every number is finite and within ``data/method_ranges.csv``.
    """
    if isinstance(name_or_path, Method):
        return name_or_path
    text = str(name_or_path)
    path, label = _method_file(text)
    raw = read_regular(path, _MAX_METHOD_BYTES, file=label, field="method")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MethodError(f"method file is not valid TOML: {exc}", file=label) from None
    data["fingerprint"] = hashlib.sha256(raw).hexdigest()
    try:
        return Method.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise MethodError(
            f"invalid method: {first['msg']}", file=label, field=".".join(map(str, first["loc"]))
        ) from None


def _method_file(text: str) -> tuple[Path, str]:
    """The file of a method name or path, and how messages name it (a shipped one by its place in the project)."""
    if text in available_methods():
        return _methods_folder() / f"{text}.toml", f"scenarios/methods/{text}.toml"
    path = Path(text)
    try:
        exists = path.suffix == ".toml" and len(text) <= _MAX_PATH and path.exists()
    except OSError:  # a name too long for the file system, …
        exists = False
    if not exists:
        shown = repr(text) if len(text) <= 80 else repr(text[:77]) + "…"
        raise UnknownMethodError(
            f"unknown method {shown}; shipped methods: {available_methods()}, or a path to a .toml file",
            field="method",
        )
    return path, text


#: longest method path looked at (PATH_MAX of Linux)
_MAX_PATH = 4096
