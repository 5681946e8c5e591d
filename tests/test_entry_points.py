"""Every entry point reaches the engine only through the stages (:mod:`mpeil.stages`).

A profiler hook records, for each call of one of the engine's entries that compute results
(``run_engine``, ``prepare_lines``, ``line_results``, ``build_profiles``, ``aggregate``), the module
of its caller. Engine modules may call each other; any other caller must be a stage. Each entry
point must also reach the engine at all (an empty record would prove nothing).
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager

import pytest
from batch_support import good_building
from fastapi.testclient import TestClient
from service_support import EXAMPLES, auth, settings_for
from typer.testing import CliRunner

import mpeil
from mpeil.analysis.sensitivity import option_sensitivity
from mpeil.analysis.uncertainty import load_uncertainty, monte_carlo
from mpeil.api import passport_of, reuse_report
from mpeil.batch.core import ScoringOptions, build_context, score_inputs
from mpeil.batch.inputs import InputItem, read_item
from mpeil.batch.limits import load_limits
from mpeil.cli import app
from mpeil.methods.config import Method
from mpeil.model import Building, Element, EndOfLifeShares, Layer
from mpeil.model.library import load_library
from mpeil.readers import write_building
from mpeil.service import create_app
from mpeil.service.scoring import ScoringEngine
from mpeil.testing import tiny_library, tiny_scenarios

HOUSE = EXAMPLES / "terraced_house.json"
ENTRIES = {
    ("mpeil.engine.run", "run_engine"),
    ("mpeil.engine.run", "prepare_lines"),
    ("mpeil.engine.run", "line_results"),
    ("mpeil.engine.profiles", "build_profiles"),
    ("mpeil.engine.core", "aggregate"),
}


@contextmanager
def engine_callers():
    """The modules that call the engine's entries while the block runs (this thread and new ones)."""
    callers: list[str] = []

    def hook(frame, event, arg):
        if event == "call" and (frame.f_globals.get("__name__"), frame.f_code.co_name) in ENTRIES:
            back = frame.f_back
            callers.append(str(back.f_globals.get("__name__")) if back is not None else "?")

    previous = sys.getprofile()
    sys.setprofile(hook)
    threading.setprofile(hook)
    try:
        yield callers
    finally:
        sys.setprofile(previous)
        threading.setprofile(None)  # type: ignore[arg-type]


def assert_through_stages(callers: list[str]) -> None:
    assert callers, "the entry point never reached the engine"
    outside = sorted({c for c in callers if not c.startswith(("mpeil.stages.", "mpeil.engine."))})
    assert outside == []
    assert any(c.startswith("mpeil.stages.") for c in callers)


@pytest.fixture(scope="module")
def obd():
    return load_library(["obd2024"])


def test_api(obd):
    with engine_callers() as callers:
        mpeil.score(HOUSE, library=obd)
        mpeil.compare(good_building(1), good_building(2), library=obd)
        passport_of(good_building(3), library=obd)
    assert_through_stages(callers)


def test_cli_score(tmp_path):
    path = tmp_path / "house.json"
    write_building(good_building(1), path)
    with engine_callers() as callers:
        result = CliRunner().invoke(app, ["score", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert_through_stages(callers)


def test_batch(tmp_path, obd):
    path = tmp_path / "house.json"
    write_building(good_building(1), path)
    context = build_context(ScoringOptions(as_of="2026-06-01", gwp_method="gwp"), library=obd)
    reads = [read_item(InputItem(str(path)), load_limits())]
    with engine_callers() as callers:
        tables = score_inputs(reads, context)
    assert not tables.errors and len(tables.summary) == 1
    assert_through_stages(callers)


def test_service(tmp_path, obd):
    engine = ScoringEngine(library=obd)
    try:
        with engine_callers() as callers:
            with TestClient(create_app(settings_for(tmp_path / "store", chunk_size=1), engine=engine)) as client:
                response = client.post(
                    "/v1/score", files={"file": ("house.json", HOUSE.read_bytes(), "application/json")}, headers=auth()
                )
        assert response.status_code == 200, response.text
    finally:
        engine.close()
    assert_through_stages(callers)


def test_analysis(obd):
    with engine_callers() as callers:
        option_sensitivity(HOUSE, {"replacement_rule": ["ceil", "fractional"]}, library=obd)
        monte_carlo(HOUSE, n_draws=2, library=obd, spec=load_uncertainty().zero())
    assert_through_stages(callers)


def test_lcax_export(obd):
    pytest.importorskip("lcax")
    result = mpeil.score(HOUSE, library=obd)
    with engine_callers() as callers:
        project = result.to_lcax()
    assert project.assemblies
    assert_through_stages(callers)


def test_reuse_report():
    method = Method.model_validate(
        dict(
            name="t",
            score_unit="kg",
            reference_study_period_years=60,
            modules=["A1-A3", "C3", "C4"],
            eol_allocation="cutoff_d",
            default_transport="truck",  # the tiny scenarios' one transport
            indicators=[{"code": "GWP-total", "factor": 1.0}],
        )
    )
    beam = dict(product="t:steel", amount=500, unit="kg", service_life_years=60, waste_category="Metals")
    donor = Building(
        id="donor",
        gross_floor_area_m2=100,
        project_type="renovation",
        elements=[
            Element(
                id="frame",
                quantity=1,
                unit="piece",
                layers=[Layer(**beam, end_of_life=EndOfLifeShares(reuse=1.0), component_id="beam-1", condition="good")],
            )
        ],
    )
    receiver = Building(
        id="receiver",
        gross_floor_area_m2=100,
        elements=[
            Element(
                id="frame",
                quantity=1,
                unit="piece",
                layers=[Layer(**beam, reused_input=1.0, source_component_id="beam-1")],
            )
        ],
    )
    with engine_callers() as callers:
        report = reuse_report([donor], [receiver], method, tiny_library(), tiny_scenarios())
    assert len(report) == 1
    assert_through_stages(callers)
