"""The Python entry point: ``mpeil.score(building_or_path, method=…, library=…)``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from . import __version__
from .engine import run_engine
from .errors import DuplicateBuildingError, InputError
from .hashing import file_sha256
from .methods import Method, load_method
from .methods.scoring import check_method, engine_options
from .methods.trust import assess_lines, scoring_library
from .model import Building
from .model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from .model.library import EPDLibrary, load_library
from .model.scenarios import ScenarioSet, load_scenarios
from .outputs import Result
from .outputs.compare import Comparison, compare_results
from .validation import Limits, check_scores, compile_checked

__all__ = ["score", "compare", "engine_options", "passport_of"]


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
    origin: dict[str, str | None] = {}
    for item in items:
        more, file = _buildings(item)
        if isinstance(more, pd.DataFrame):
            raise InputError("a list of inputs cannot hold a flat DataFrame; concatenate the frames instead")
        for building in more:
            _check_new_id(building.id, origin, file)
        buildings.extend(more)
    return buildings, None


def _check_new_id(building_id: str, origin: dict[str, str | None], file: str | None) -> None:
    """Two buildings with one id would be summed as one: refuse, naming where each came from."""
    if building_id in origin:
        first = origin[building_id]
        raise DuplicateBuildingError(
            f"building id {building_id!r} appears twice in one call"
            + (f" (first in {first})" if first else "")
            + "; give each building its own id",
            file=file,
            building=building_id,
            field="id",
        )
    origin[building_id] = file


def score(
    buildings,
    method: str | Path | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    report_indicators: Iterable[str] = EN15804_A2_CORE_AND_ADDITIONAL,
    limits: Limits | None = None,
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
    limits:
        Plausibility limits (default ``data/batch_limits.csv``); a building beyond one raises a
        located :class:`~mpeil.errors.InputError`.
    **options:
        Method options to override, e.g. ``replacement_rule="fractional"``, ``include_d=True``.
    """
    method = load_method(method)
    if options:
        method = method.with_options(**options)
    library = scoring_library(library if library is not None else load_library(), method)
    scenarios = scenarios if scenarios is not None else load_scenarios()
    check_method(method, library)
    items, file = _buildings(buildings)
    compiled = compile_checked(
        items, library, scenarios, method.reference_study_period_years, method.default_transport, file, limits
    )
    results = run_engine(compiled, library, scenarios, engine_options(method, report_indicators))
    provenance = {
        "engine_version": __version__,
        "method": method.name,
        "method_hash": method.fingerprint,
        "library": library.name,
        "library_hash": library.fingerprint(),
        "options": {k: str(v) for k, v in options.items()},
        "gap_policy": method.gap_policy,
        "flagged_values": method.flagged_values,
    }
    if file:
        provenance["input_file"] = file
        provenance["input_hash"] = file_sha256(file)
    operational = None
    if not isinstance(items, pd.DataFrame) and any(b.operational for b in items):
        from .outputs.operational import operational_impacts

        operational = operational_impacts(items, library, results.indicators, method.reference_study_period_years)
    trust = assess_lines(compiled, results.replacements, library, method)
    results.extra["trust"] = trust  # travels with the element results (a Result rebuilt from them keeps it)
    result = Result(results, method, provenance, operational, library=library, scenarios=scenarios, trust=trust)
    check_scores(result.scores, file)
    return result


def compare(
    *variants,
    method: str | Path | Method | None = None,
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    **options,
) -> Comparison:
    """Compare building variants like for like; the first building is the baseline.

    ``variants`` are buildings, building files or :class:`Result` objects (each may hold several
    buildings). Everything not yet scored is scored in one call with one method, library and
    scenario set; Results must have been scored with that same method (else ``MethodError``).
    Duplicate building ids are a :class:`~mpeil.errors.DuplicateBuildingError`. Returns a
    :class:`~mpeil.outputs.compare.Comparison` (``.table`` element × stage, ``.explanation``).
    """
    given = [v for v in variants if isinstance(v, Result)]
    if method is None:
        method = given[0].method if given else "mpeil-ef31"
    origin: dict[str, str | None] = {}
    unscored: list[Building] = []
    names: list[list[str]] = []
    for variant in variants:
        if isinstance(variant, Result):
            ids: list[tuple[str, str | None]] = [(b, "a Result") for b in variant.building_ids]
        else:
            more, file = _buildings(variant)
            if isinstance(more, pd.DataFrame):
                raise InputError("compare takes buildings, building files or Results, not a flat DataFrame")
            unscored.extend(more)
            ids = [(b.id, file) for b in more]
        for building_id, file in ids:
            _check_new_id(building_id, origin, file)
        names.append([building_id for building_id, _ in ids])
    scored = score(unscored, method, library, scenarios, **options) if unscored else None
    pairs = [
        (variant if isinstance(variant, Result) else scored, name)
        for variant, ids in zip(variants, names, strict=True)
        for name in ids
    ]
    return compare_results(pairs)  # type: ignore[arg-type]


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
