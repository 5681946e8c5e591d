"""Data sets per module from Brightway activities: hand-checkable numbers and a bw2calc cross-check."""

from __future__ import annotations

import os
import tempfile
import warnings

import pandas as pd
import pytest

import mpeil
from mpeil.errors import ParseError
from mpeil.model.library import EPDLibrary, load_library
from mpeil.readers.brightway import brightway_library
from mpeil.testing import one_layer_building

os.environ.setdefault("BRIGHTWAY2_DIR", tempfile.mkdtemp(prefix="mpeil-bw-"))  # never the user's own projects
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import bw2calc
    import bw2data

METHODS = pd.DataFrame(
    [
        ("GWP-total", "EF v3.1|climate change|global warming potential (GWP100)", "1", "self-made test method"),
        ("ADPE", "EF v3.1|material resources: metals/minerals|abiotic depletion potential (ADP)", "1", "self-made"),
    ],
    columns=["indicator", "method", "scale", "source"],
)
MAPPING = pd.DataFrame(
    [
        # concrete: A1-A3 = 1 m³ of the concrete activity; C3 = 2400 kg of crushing; D = -2000 kg gravel avoided
        ("concrete", "Concrete C25/30", "m3", "A1-A3", "tech", "concrete", "1", "2400"),
        ("concrete", "Concrete C25/30", "m3", "C3", "tech", "crushing", "2400", "2400"),
        ("concrete", "Concrete C25/30", "m3", "D", "tech", "gravel", "-2000", "2400"),
        ("steel", "Rebar", "kg", "A1-A3", "tech", "steel", "1", ""),
    ],
    columns=["dataset_id", "name_en", "declared_unit", "module", "database", "code", "amount", "gross_density_kg_m3"],
)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A small self-made database: per unit of each activity, CO2 and Sb emissions."""
    bw2data.projects.change_base_directories(tmp_path_factory.mktemp("bw"))
    bw2data.projects.set_current("mpeil-test")
    bw2data.Database("bio").write({
        ("bio", "co2"): {"name": "carbon dioxide", "unit": "kg", "type": "emission"},
        ("bio", "sb"): {"name": "antimony", "unit": "kg", "type": "emission"},
    })  # fmt: skip

    def activity(code, unit, co2=0.0, sb=0.0, inputs=()):
        exchanges = [{"input": ("tech", code), "amount": 1.0, "type": "production"}]
        exchanges += [{"input": ("bio", "co2"), "amount": co2, "type": "biosphere"}] if co2 else []
        exchanges += [{"input": ("bio", "sb"), "amount": sb, "type": "biosphere"}] if sb else []
        exchanges += [{"input": ("tech", c), "amount": a, "type": "technosphere"} for c, a in inputs]
        return {"name": code, "unit": unit, "exchanges": exchanges}

    bw2data.Database("tech").write({
        ("tech", "cement"): activity("cement", "kilogram", co2=0.75),
        ("tech", "steel"): activity("steel", "kilogram", co2=1.5, sb=0.000125),
        ("tech", "concrete"): activity("concrete", "cubic meter", co2=25.0, inputs=[("cement", 300.0), ("steel", 0.0)]),
        ("tech", "crushing"): activity("crushing", "kilogram", co2=0.0025),
        ("tech", "gravel"): activity("gravel", "kilogram", co2=0.005),
    })  # fmt: skip
    for method, flow in zip(METHODS["method"], ["co2", "sb"], strict=True):
        bw2data.Method(tuple(method.split("|"))).write([(("bio", flow), 1.0)])
    return bw2data.projects.current


def test_values_per_module_by_hand(project):
    library = brightway_library(MAPPING, METHODS, name="bw")
    tensor = library.tensor(["GWP-total", "ADPE"], ("A1-A3", "C3", "D"))
    concrete, steel = library.resolve("bw:concrete"), library.resolve("bw:steel")
    # concrete A1-A3: 25 + 300 × 0.75 = 250 kg CO2e/m³; C3: 2400 × 0.0025 = 6; D: −2000 × 0.005 = −10
    # (Brightway stores matrix data in float32, hence 1e-6)
    assert tensor[concrete, :, 0] == pytest.approx([250.0, 6.0, -10.0], rel=1e-6)
    assert tensor[steel, 0].tolist() == pytest.approx([1.5, 0.000125], rel=1e-6)
    assert library.mass_per_unit(concrete) == 2400.0
    assert "tech/concrete" in library.datasets.at[concrete, "notes"]


def test_one_line_building_equals_bw2calc(project):
    library = EPDLibrary.layered(load_library(), [brightway_library(MAPPING, METHODS, name="bw")])
    # 10 m² × 0.2 m of concrete = 2 m³ over 100 m² GFA, method gwp (per m² per year over 60 years)
    building = one_layer_building("bw:concrete", 0.2, "m", element_quantity=10.0, gross_floor_area_m2=100.0)
    ours = mpeil.score(building, method="gwp", library=library).by_module("GWP-total").iloc[0]["A1-A3"]
    node = bw2data.get_node(database="tech", code="concrete")
    fu, objs, remap = bw2data.prepare_lca_inputs({node: 2.0}, method=tuple(METHODS["method"][0].split("|")))
    lca = bw2calc.LCA(fu, data_objs=objs, remapping_dicts=remap)
    lca.lci()
    lca.lcia()
    assert ours * 100.0 * 60.0 == pytest.approx(lca.score, rel=1e-9)


def test_bad_mapping_and_methods_are_typed_errors(project):
    bad = MAPPING.assign(module=["A1-A3", "C9", "D", "A1-A3"])
    with pytest.raises(ParseError, match="unknown module 'C9'"):
        brightway_library(bad, METHODS)
    with pytest.raises(ParseError, match="no activity 'nothing'"):
        brightway_library(MAPPING.assign(code="nothing"), METHODS)
    with pytest.raises(ParseError, match=r"not in data/indicators\.csv"):
        brightway_library(MAPPING, METHODS.assign(indicator=["GWP-total", "XYZ"]))
    with pytest.raises(ParseError, match="no Brightway method"):
        brightway_library(MAPPING, METHODS.assign(method=["a|b", "c|d"]))
