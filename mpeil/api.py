"""The Python entry point: ``mpeil.score(building_or_path, method=…, library=…)``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from . import __version__
from .compile import compile_buildings, compile_frame
from .engine import run_engine
from .hashing import file_sha256
from .methods import Method, load_method
from .methods.scoring import check_method, engine_options
from .model import Building
from .model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from .model.library import EPDLibrary, load_library
from .model.scenarios import ScenarioSet, load_scenarios
from .outputs import Result

__all__ = ["score", "engine_options", "passport_of"]


def _buildings(source) -> tuple[list[Building] | pd.DataFrame, str | None]:
    if isinstance(source, Building):
        return [source], None
    if isinstance(source, pd.DataFrame):
        return source, None
    if isinstance(source, (str, Path)):
        from .readers import read_buildings

        return read_buildings(source), str(source)
    items = list(source)
    buildings: list[Building] = []
    for item in items:
        more, _ = _buildings(item)
        buildings.extend(more)  # type: ignore[arg-type]
    return buildings, None


def score(
    buildings,
    method: str | Path | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    report_indicators: Iterable[str] = EN15804_A2_CORE_AND_ADDITIONAL,
    **options,
) -> Result:
    """Score one or many buildings.

    Parameters
    ----------
    buildings:
        A :class:`~mpeil.model.Building`, a path to a building file (JSON, CSV, XLSX), a flat
        bill-of-materials DataFrame, or an iterable of those.
    method:
        A shipped method name (``mpeil-ef31``, ``mpeil-ef30``, ``gwp``, ``br18``, ``nl-mpg-set1``),
        a TOML file, or a :class:`~mpeil.methods.Method`.
    library, scenarios:
        Default: every shipped EPD source and the shipped scenarios.
    **options:
        Method options to override, e.g. ``replacement_rule="fractional"``, ``include_d=True``.
    """
    method = load_method(method)
    if options:
        method = method.with_options(**options)
    library = library if library is not None else load_library()
    scenarios = scenarios if scenarios is not None else load_scenarios()
    check_method(method, library)
    items, file = _buildings(buildings)
    if isinstance(items, pd.DataFrame):
        compiled = compile_frame(
            items, library, scenarios, method.reference_study_period_years, method.default_transport, file
        )
    else:
        compiled = compile_buildings(
            items, library, scenarios, method.reference_study_period_years, method.default_transport, file
        )
    results = run_engine(compiled, library, scenarios, engine_options(method, report_indicators))
    provenance = {
        "engine_version": __version__,
        "method": method.name,
        "method_hash": method.fingerprint,
        "library": library.name,
        "options": {k: str(v) for k, v in options.items()},
    }
    if file:
        provenance["input_file"] = file
        provenance["input_hash"] = file_sha256(file)
    operational = None
    if not isinstance(items, pd.DataFrame) and any(b.operational for b in items):
        from .outputs.operational import operational_impacts

        operational = operational_impacts(items, library, results.indicators, method.reference_study_period_years)
    return Result(results, method, provenance, operational)


def passport_of(
    building: Building,
    method: str | Path | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    **options,
):
    """The building and material passport of ``building`` (:mod:`mpeil.model.passport`)."""
    from .model.passport import split_lines
    from .outputs.passport import build_passport

    library = library if library is not None else load_library()
    scenarios = scenarios if scenarios is not None else load_scenarios()
    result = score(split_lines(building), method=method, library=library, scenarios=scenarios, **options)
    return build_passport(building, result, library, scenarios)
