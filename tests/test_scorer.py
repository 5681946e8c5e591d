"""One Scorer behind every entry point: the API, the CLI, batch and the sensitivity analysis give
bit-identical numbers for the same inputs, with the library loaded once and one provenance shape."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import numpy as np
import pytest
from batch_support import good_building
from typer.testing import CliRunner

import mpeil
import mpeil.api
import mpeil.stages.context
from mpeil.analysis.sensitivity import option_sensitivity
from mpeil.batch.core import ScoringOptions, build_context, score_inputs
from mpeil.batch.inputs import InputItem, read_item
from mpeil.batch.limits import load_limits
from mpeil.cli import app
from mpeil.compile import flatten
from mpeil.errors import DuplicateBuildingError, InputError
from mpeil.readers import write_building

AS_OF = "2026-06-01"


@pytest.fixture(scope="module")
def scorer():
    return mpeil.Scorer()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("scorer")
    json_file, csv_file = root / "house.json", root / "house.csv"
    write_building(good_building(1), json_file)
    write_building(good_building(2), csv_file)
    return [json_file, csv_file]


def _api_scores(path: Path):
    """The reference: ``mpeil.score`` on one file, a fresh Scorer each time (nothing shared)."""
    return mpeil.score(path).scores


def test_api_is_scorer_and_a_reused_scorer_is_deterministic(scorer, files):
    for path in files:
        alone = _api_scores(path)
        reused = scorer.score(path).scores
        again = scorer.score(path).scores
        assert alone["score"].to_numpy().tobytes() == reused["score"].to_numpy().tobytes()
        assert reused["score"].to_numpy().tobytes() == again["score"].to_numpy().tobytes()


def test_cli_gives_the_api_numbers_bit_for_bit(files):
    result = CliRunner().invoke(app, ["score", *map(str, files), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = [row for row in csv.DictReader(io.StringIO(result.stdout)) if row.get("building_id") != "building_id"]
    assert len(rows) == 2
    for path, row in zip(files, rows, strict=True):
        api = _api_scores(path)
        building = row["building_id"]
        # Python's float repr round-trips exactly, so equal text means equal bits
        assert float(row["score"]) == api.loc[building, "score"]
        assert float(row["weight_covered"]) == api.loc[building, "weight_covered"]


def test_cli_loads_the_library_once_for_all_files(files, tmp_path, monkeypatch):
    more = [tmp_path / "three.json", tmp_path / "four.csv"]
    write_building(good_building(3), more[0])
    write_building(good_building(4), more[1])
    calls = []
    real = mpeil.model.library.load_library

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    # the CLI loads the library (with any --library folders) once; the Scorer would otherwise load it
    monkeypatch.setenv("MPEIL_CACHE_DIR", "none")  # from its sources (tests/test_stored_library.py: from the cache)
    monkeypatch.setattr(mpeil.model.library, "load_library", counting)
    monkeypatch.setattr(mpeil.stages.context, "load_library", counting)
    result = CliRunner().invoke(app, ["score", *map(str, files), *map(str, more), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("house-00") == 4  # four buildings scored
    assert len(calls) == 1


def test_batch_gives_the_api_numbers_bit_for_bit(files):
    context = build_context(ScoringOptions(as_of=AS_OF))
    reads = [read_item(InputItem(str(path)), load_limits()) for path in files]
    tables = score_inputs(reads, context)
    assert not tables.errors
    summary = tables.summary.set_index("building")
    receipts = {r["receipt"]["building"]: r["receipt"] for r in tables.receipts}
    values = tables.results.column("value").to_numpy(zero_copy_only=False)
    offset = 0
    for path in files:
        result = mpeil.score(path)
        for building, row in result.scores.iterrows():
            assert summary.loc[building, "score"] == row["score"]
            assert receipts[building]["numbers"]["score"]["hex"] == float(row["score"]).hex()
            per_area = [c for c in row.index if c.endswith(" per area")]
            assert per_area
            for column in per_area:
                assert receipts[building]["numbers"][column]["hex"] == float(row[column]).hex()
        cube = result.elements.values.reshape(-1)
        assert np.array_equal(values[offset : offset + cube.size], cube, equal_nan=True)
        offset += cube.size
    assert offset == len(values)


def test_sensitivity_gives_the_api_numbers_bit_for_bit(scorer, files):
    grid = {"method": ["mpeil-ef31", "gwp"], "replacement_rule": ["ceil", "fractional"], "include_d": [False, True]}
    frame = option_sensitivity(files[0], grid, scorer=scorer)
    assert len(frame) == 8
    for _, row in frame.iterrows():
        api = mpeil.score(
            files[0], method=row["method"], replacement_rule=row["replacement_rule"], include_d=row["include_d"]
        ).scores
        assert row["score"] == api.loc[row["building"], "score"]


def test_a_list_mixing_frames_paths_and_buildings_scores_each_as_alone(scorer, files):
    frame = flatten([good_building(3)])
    mixed = scorer.score([frame, files[0], good_building(4)]).scores
    assert list(mixed.index) == ["house-003", "house-001", "house-004"]
    for building, alone in (
        ("house-003", scorer.score(frame)),
        ("house-001", scorer.score(files[0])),
        ("house-004", scorer.score(good_building(4))),
    ):
        assert mixed.loc[building, "score"] == alone.scores.loc[building, "score"]


def test_one_building_id_twice_in_one_call_is_a_typed_error(scorer, files):
    frame = flatten([good_building(1)])  # house-001, as in files[0]
    with pytest.raises(DuplicateBuildingError) as caught:
        scorer.score([files[0], frame])
    assert caught.value.building == "house-001"


def test_nothing_to_score_is_a_typed_error(scorer):
    with pytest.raises(InputError):
        scorer.score([])
    with pytest.raises(InputError):
        scorer.score(42)


def test_one_provenance_shape_for_api_and_batch_receipts(scorer, files):
    result = scorer.score(files[0])
    context = build_context(ScoringOptions(as_of=AS_OF, gwp_method=None), library=scorer.library)
    assert result.provenance["engine_version"] == context.provenance["engine_version"] == mpeil.__version__
    for key in ("method", "library", "scenarios"):
        assert result.provenance[key].keys() == context.provenance[key].keys()
    assert result.provenance["method"] == context.provenance["method"]
    assert result.provenance["library"]["sha256"] == context.provenance["library"]["sha256"]
    assert result.provenance["input"]["file"] == str(files[0])
    # the batch adds its own options to the scorer's
    assert set(context.provenance["options"]) - set(result.provenance["options"]) == {"as_of", "limits"}


def test_with_options_shares_library_and_scenarios(scorer):
    variant = scorer.with_options(method="gwp", replacement_rule="fractional")
    assert variant.scenarios is scorer.scenarios
    # the library as given is shared; each method scores with it under its own gap policy (issue 8)
    assert variant.context.given_library is scorer.context.given_library
    same_policy = scorer.with_options(replacement_rule="fractional")
    assert same_policy.library.fingerprint() == scorer.library.fingerprint()
    assert variant.method.name == "gwp" and variant.method.replacement_rule == "fractional"
    same = variant.with_options()
    assert same.method.fingerprint == variant.method.fingerprint


#: package → layer; a module may import only from its own layer or lower ones (mpeil's one-way rule)
LAYERS = {
    "__init__": 0,
    "errors": 0,
    "paths": 0,
    "units": 0,
    "hashing": 0,
    "ids": 0,
    "limits": 0,
    "sanitize": 0,
    "budget": 0,
    "model": 1,
    "readers": 2,
    "testing": 2,
    "elements": 2,
    "search": 2,
    "compile": 3,
    "synthetic": 3,
    "validation": 3,
    "consistency": 3,
    "plausibility": 3,
    "engine": 4,
    "methods": 5,
    "outputs": 6,
    "notes": 6,
    "stages": 7,
    "api": 8,
    "analysis": 9,
    "batch": 10,
    "cli": 11,
    "service": 11,
    "__main__": 11,
}


def _imports(path: Path, package: Path) -> set[str]:
    """Top-level mpeil packages a module imports (relative or absolute, also inside functions)."""
    module = path.relative_to(package.parent).with_suffix("").parts
    if module[-1] == "__init__":
        module = module[:-1]
        here = list(module)
    else:
        here = list(module[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            found.add(target[1] if len(target) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mpeil."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("mpeil."))
    return found


def test_no_module_imports_upward():
    package = Path(mpeil.__file__).parent
    upward = []
    for path in package.rglob("*.py"):
        parts = path.relative_to(package).parts
        own = parts[0] if len(parts) > 1 else path.stem
        if own not in LAYERS:  # a new module must be given its layer
            upward.append(f"{path.relative_to(package)} has no layer in LAYERS")
            continue
        for target in _imports(path, package):
            if target not in LAYERS:
                upward.append(f"{path.relative_to(package)} imports {target}, which has no layer in LAYERS")
            elif LAYERS[target] > LAYERS[own]:
                upward.append(f"{path.relative_to(package)} imports {target}")
    assert upward == []


def test_the_layering_test_knows_every_module():
    """Every top-level module and package of mpeil/ has a layer (none is skipped by the test above)."""
    package = Path(mpeil.__file__).parent
    names = {p.stem for p in package.glob("*.py")} | {p.parent.name for p in package.glob("*/__init__.py")}
    assert sorted(names - set(LAYERS)) == []
    assert sorted(set(LAYERS) - names) == []


def test_compare_refuses_results_of_two_libraries(scorer):
    """compare reads the library hash from the Scorer's provenance shape (``library.sha256``)."""
    from mpeil.errors import MethodError
    from mpeil.model.library import load_library

    one = scorer.score(good_building(1))
    other = mpeil.Scorer(library=load_library(["obd2024"])).score(good_building(2))
    assert one.provenance["library"]["sha256"] != other.provenance["library"]["sha256"]
    with pytest.raises(MethodError, match="different EPD libraries"):
        mpeil.compare(one, other)
    assert len(mpeil.compare(one, scorer.score(good_building(2))).table) > 0
