"""What scoring needs of the IFC reader lives in a light module (mpeil.readers.ifc_coverage), and a
score of a JSON file from the stored library imports neither the IFC reader nor pint."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import mpeil.readers.ifc as ifc
import mpeil.readers.ifc_coverage as light
from mpeil.errors import InputError
from mpeil.model import Building
from mpeil.paths import scenarios_dir
from mpeil.stages.context import prepare_stored

EXAMPLE = scenarios_dir() / "examples" / "terraced_house.json"


def test_the_reader_re_exports_the_same_objects():
    assert ifc.coverage_of is light.coverage_of
    assert ifc.MissingFloorAreaError is light.MissingFloorAreaError
    assert issubclass(light.MissingFloorAreaError, InputError)


def test_coverage_of_reads_the_shares_a_reading_wrote():
    metadata = {
        "mapped_volume_share": "0.75",
        "mapped_mass_share": "0.5",
        "share_volume_mapping": "0.25",
        "share_mass_bad": "n/a",
        "author": "x",
    }
    building = Building.model_construct(id="b", metadata=metadata)  # only the metadata is read
    assert light.coverage_of(building) == {
        "mapped_volume_share": 0.75,
        "mapped_mass_share": 0.5,
        "volume_mapping": 0.25,
    }
    assert light.coverage_of(Building.model_construct(id="c", metadata={})) == {}


def test_missing_floor_area_says_how_to_give_it():
    error = light.MissingFloorAreaError("no IfcSpace", file="a.ifc")
    assert (
        str(error.message)
        == "the IFC model states no gross floor area (no IfcSpace); give it with read_ifc(path, gfa_m2=M2)"
    )
    other = error.how("--gfa M2")
    assert (
        other.message.endswith("give it with --gfa M2") and other.file == "a.ifc" and other.derivation == "no IfcSpace"
    )


def test_the_light_module_imports_no_reader():
    code = "import sys, mpeil.readers.ifc_coverage; print('mpeil.readers.ifc' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False"]


@pytest.fixture(scope="module")
def stored() -> None:
    """The session's stored library (tests/conftest.py: a private cache folder), built at most once."""
    prepare_stored()


def test_scoring_a_json_file_imports_neither_the_ifc_reader_nor_pint(stored):
    code = (
        "import sys, json\n"
        "from mpeil.api import Scorer\n"
        "from mpeil.stages.context import prepare_stored\n"
        f"Scorer.from_context(prepare_stored()).score({str(EXAMPLE)!r}).scores\n"
        "print(json.dumps([name in sys.modules for name in ('mpeil.readers.ifc', 'pint')]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, False]
