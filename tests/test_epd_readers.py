"""EPD data layer: ÖKOBAUDAT / ILCD / BR18 readers, the shipped libraries, unit conversion.

Expected numbers come from the raw source rows, read by hand (the row is named in a comment
next to each literal), from lcax (an independent ILCD parser) or from hand calculation.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest

from mpeil.errors import ConversionError, ParseError, UnitError, UnknownEPDError
from mpeil.model.indicators import indicator_catalogue
from mpeil.model.library import DATASET_COLUMNS, VALUE_COLUMNS, EPDLibrary, load_library
from mpeil.paths import data_dir
from mpeil.readers.br18 import read_br18
from mpeil.readers.convert_shipped import main as convert_main
from mpeil.readers.epd_common import DeclaredUnitCorrections, orient_kg_factor, parse_number, tidy_unit
from mpeil.readers.ilcd import IndicatorAliases, read_ilcd, read_ilcd_frames
from mpeil.readers.oekobaudat import read_oekobaudat
from mpeil.units import parse_unit, unit_registry

ILCD_JSON = data_dir() / "epd" / "ilcd" / "json"


@pytest.fixture(scope="module")
def obd2024() -> EPDLibrary:
    return load_library(["obd2024"])


@pytest.fixture(scope="module")
def obd2020() -> EPDLibrary:
    return load_library(["obd2020"])


@pytest.fixture(scope="module")
def br18() -> EPDLibrary:
    return load_library(["br18"])


@pytest.fixture(scope="module")
def ilcd() -> EPDLibrary:
    return load_library(["ilcd"])


def _values(library: EPDLibrary, dataset_id: str, indicator: str) -> dict[tuple[str, str], float]:
    rows = library.values[(library.values["dataset_id"] == dataset_id) & (library.values["indicator"] == indicator)]
    return {(r.module, r.scenario): r.value for r in rows.itertuples(index=False)}


def _tensor_value(library: EPDLibrary, dataset_id: str, module: str, indicator: str) -> float:
    tensor = library.tensor([indicator], modules=[module])
    return float(tensor[library.resolve(dataset_id), 0, 0])


# ---------------------------------------------------------------------------- shipped counts
def test_shipped_obd2024_counts_match_the_source(obd2024):
    # oekobaudat-2024-I-a1a3/SOURCE.md: 571 generic + 898 specific data sets, one row each
    assert len(obd2024) == 571 + 898
    assert obd2024.datasets["data_type"].value_counts().to_dict() == {"specific": 898, "generic": 571}
    assert obd2024.datasets["dataset_id"].str.startswith("obd2024:").all()
    # one (module, scenario) per data set: the export kept only the first row
    combos = obd2024.values.drop_duplicates(["dataset_id", "module", "scenario"])
    assert len(combos) == 571 + 898
    # specific_data.csv: Modul A1-A3 740 rows, A1 158 rows
    specific = obd2024.datasets.loc[obd2024.datasets["data_type"] == "specific", "dataset_id"]
    modules = combos[combos["dataset_id"].isin(specific)]["module"].value_counts().to_dict()
    assert modules == {"A1-A3": 740, "A1": 158}


def test_shipped_obd2020_counts_match_the_source(obd2020):
    # OBD_2020_II.csv: 993 UUIDs in 4,813 rows; 22 of those rows have every indicator cell
    # empty (e.g. Mauerziegel f98eea66 B6/B7, FASBA Baustroh d2d1b29f A1/A2/A3), so they give
    # no value row: 4,813 - 22 = 4,791 (data set, module, scenario) combinations with values.
    assert len(obd2020) == 993
    combos = obd2020.values.drop_duplicates(["dataset_id", "module", "scenario"])
    assert len(combos) == 4813 - 22
    assert set(obd2020.datasets["standard"]) == {"EN 15804+A1"}
    # the (A2) columns are empty in 2020-II
    a2_codes = [c for c, ind in indicator_catalogue().items() if ind.standard == "EN 15804+A2"]
    assert not obd2020.values["indicator"].isin(a2_codes).any()
    # SOURCE.md: types generic 569, specific/average/representative data sets
    assert obd2020.datasets["data_type"].value_counts()["generic"] == 569


def test_shipped_br18_and_ilcd_counts(br18, ilcd):
    assert len(br18) == 450  # tabel7.csv has 450 rows
    assert br18.datasets["data_type"].value_counts().to_dict() == {"generic": 416, "average": 34}
    assert set(br18.values["indicator"]) == {"GWP-A1"}
    assert len(ilcd) == 16  # 16 JSON files
    assert len(list(ILCD_JSON.glob("*.json"))) == 16


def test_shipped_frames_follow_the_storage_contract(obd2024, obd2020, br18, ilcd):
    catalogue = indicator_catalogue()
    for library in (obd2024, obd2020, br18, ilcd):
        assert list(library.datasets.columns[: len(DATASET_COLUMNS)]) == list(DATASET_COLUMNS)
        assert list(library.values.columns[: len(VALUE_COLUMNS)]) == list(VALUE_COLUMNS)
        assert library.values["value"].dtype == np.float64
        assert library.values["value"].notna().all()  # undeclared = no row, never NaN or 0 rows
        assert set(library.values["indicator"]) <= set(catalogue)
        assert not library.values.duplicated(["dataset_id", "module", "scenario", "indicator"]).any()
        for unit in library.datasets["declared_unit"].dropna().unique():
            parse_unit(unit)


# ---------------------------------------------------------------------------- hand-checked values
def test_obd2020_copper_pipe_values_as_in_the_raw_rows(obd2020):
    # OBD_2020_II.csv rows 2-4: 6b2b9708-… "Innenverzinnte Kupfer-Hausinstallationsrohre", 1 kg,
    # A1-A3 GWP 3.5, ODP 0.0000000000867; C4 GWP 0.000949; D GWP -0.729; C4 PERM empty
    dataset_id = "obd2020:6b2b9708-14d8-4f3a-8a75-0b7481c5e0f8"
    assert _values(obd2020, dataset_id, "GWP-A1") == {("A1-A3", ""): 3.5, ("C4", ""): 0.000949, ("D", ""): -0.729}
    assert _values(obd2020, dataset_id, "ODP-A1")[("A1-A3", "")] == pytest.approx(8.67e-11, rel=1e-12)
    assert ("C4", "") not in _values(obd2020, dataset_id, "PERM")  # empty cell: no row
    assert _values(obd2020, dataset_id, "PERM")[("A1-A3", "")] == 0.0  # a real zero is kept
    info = obd2020.info(dataset_id)
    assert (info["declared_amount"], info["declared_unit"]) == (1.0, "kg")
    assert info["category"] == "Metals / Copper / Copper pipes"
    assert info["data_type"] == "average"


def test_obd2020_scenarios_kept_in_source_order(obd2020):
    # BauderTHERMOFOL 8d06b1df-…, per 1 qm: C3 S1 0.0123, C3 S2 4.5, D S1 -3.44, D S2 -1.22
    dataset_id = "obd2020:8d06b1df-e898-4009-adee-57ca44aaafcc"
    gwp = _values(obd2020, dataset_id, "GWP-A1")
    assert gwp[("C3", "S1")] == 0.0123 and gwp[("C3", "S2")] == 4.5
    assert gwp[("D", "S1")] == -3.44 and gwp[("D", "S2")] == -1.22
    index = obd2020.resolve(dataset_id)
    assert obd2020.scenarios(index, "D") == ["S1", "S2"]
    first = obd2020.tensor(["GWP-A1"], modules=["D"])
    assert first[index, 0, 0] == -3.44
    chosen = obd2020.tensor(["GWP-A1"], modules=["D"], scenario_choice={"D": "S2"})
    assert chosen[index, 0, 0] == -1.22
    assert obd2020.info(dataset_id)["declared_unit"] == "m2"  # "qm"


def test_obd2020_a1_a2_a3_parts_are_summed(obd2020):
    # Holzfaserdämmstoff d601d54e-… declares A1 -220.715759452158, A2 0.366783037606222,
    # A3 47.5186027785474 per 1 m3 and no A1-A3 row
    dataset_id = "obd2020:d601d54e-a2eb-42bb-b32b-c59d1b2332a9"
    assert ("A1-A3", "") not in _values(obd2020, dataset_id, "GWP-A1")
    expected = -220.715759452158 + 0.366783037606222 + 47.5186027785474
    assert _tensor_value(obd2020, dataset_id, "A1-A3", "GWP-A1") == pytest.approx(expected, rel=1e-12)


def test_transport_declared_per_one_tkm(obd2024, obd2020):
    # generic_data.csv: LKW bb74d2a2-… "1000" "t*km", GWPtotal (A2) 0.11067136298967
    truck = obd2024.info("obd2024:bb74d2a2-249a-4245-a1bb-7bde61f2f613")
    assert (truck["declared_amount"], truck["declared_unit"]) == (1.0, "t*km")
    assert "1000 t*km" in truck["notes"]
    assert _tensor_value(obd2024, truck["dataset_id"], "A4", "GWP-total") == 0.11067136298967
    # OBD_2020_II.csv: LKW f54f1e4c-… "1000" "kgkm", GWP 0.0896859880375202
    truck_2020 = "obd2020:f54f1e4c-07e2-4045-9f1b-fb28ef8adf13"
    assert obd2020.info(truck_2020)["declared_unit"] == "t*km"
    assert _tensor_value(obd2020, truck_2020, "A4", "GWP-A1") == 0.0896859880375202
    # 10 t over 50 km = 500 t*km: 500 declared units
    assert obd2020.conversion_factor(obd2020.resolve(truck_2020), "t*km") == 1.0
    assert obd2020.conversion_factor(obd2020.resolve(truck_2020), "kg*km") == pytest.approx(1e-3)


def test_decimal_comma_amount_and_per_unit_tensor(obd2024):
    # generic_data.csv: Fernwärme Mix Deutschland bff1909a-…: Bezugsgroesse "3,6" MJ,
    # GWPtotal (A2) 0.253701847920969 (per 3.6 MJ = 1 kWh)
    dataset_id = "obd2024:bff1909a-5383-49bb-a450-aa9543e7a9ee"
    info = obd2024.info(dataset_id)
    assert (info["declared_amount"], info["declared_unit"]) == (3.6, "MJ")
    assert _values(obd2024, dataset_id, "GWP-total")[("B6", "")] == 0.253701847920969
    assert _tensor_value(obd2024, dataset_id, "B6", "GWP-total") == pytest.approx(0.253701847920969 / 3.6)
    # 1 kWh = 3.6 MJ = 3.6 declared units (of 1 MJ)
    assert obd2024.conversion_factor(obd2024.resolve(dataset_id), "kWh") == pytest.approx(3.6)


def test_obd2024_concrete_values_and_undeclared_indicators(obd2024):
    # generic_data.csv: Transportbeton C20/25 e3d7a045-…, 1 m3, Rohdichte 2360,
    # GWPtotal (A2) 200.067802954894, PERE 274.405271407981, PM (A2) and SOP (A2) empty
    dataset_id = "obd2024:e3d7a045-ee91-43ac-8fb4-a5216c65ba0b"
    assert _values(obd2024, dataset_id, "GWP-total") == {("A1-A3", ""): 200.067802954894}
    assert _values(obd2024, dataset_id, "PERE") == {("A1-A3", ""): 274.405271407981}
    tensor = obd2024.tensor(["GWP-total", "PM", "SQP"], modules=["A1-A3", "C3"])
    index = obd2024.resolve(dataset_id)
    assert tensor[index, 0, 0] == 200.067802954894
    assert np.isnan(tensor[index, 0, 1]) and np.isnan(tensor[index, 0, 2])  # not declared: NaN, not 0
    assert np.isnan(tensor[index, 1, 0])  # no C3 module in the 2024-I files
    assert obd2024.info(dataset_id)["gross_density_kg_m3"] == 2360.0
    assert obd2024.mass_per_unit(index) == 2360.0
    assert obd2024.info(dataset_id)["standard"] == "EN 15804+A2"


def test_specific_a1_only_rows_give_no_a1_a3(obd2024):
    # specific_data.csv keeps only the A1 row of 158 EPDs: A1-A3 cannot be built from A1 alone
    specific_a1 = obd2024.values[obd2024.values["module"] == "A1"]["dataset_id"].unique()
    assert len(specific_a1) == 158
    tensor = obd2024.tensor(["GWP-total"], modules=["A1-A3"])
    rows = [obd2024.resolve(d) for d in specific_a1]
    assert np.isnan(tensor[rows, 0, 0]).all()


def test_r410a_declared_amount_corrected(obd2020):
    # OBD_2020_II.csv rows for Kältemittel R410a 988bb7c3-…: Bezugsgroesse 0.00000100000000002876 kg,
    # A1-A3 GWP 8.06324206355733, B1 2087.5 (= GWP100 of 1 kg R410a) → stored per 1 kg
    dataset_id = "obd2020:988bb7c3-0a15-4626-a6c0-0883d4ff33dd"
    assert obd2020.info(dataset_id)["declared_amount"] == 1.0
    assert _tensor_value(obd2020, dataset_id, "B1", "GWP-A1") == 2087.5


def test_dataset_without_declared_unit(obd2020):
    # OBD_2020_II.csv: FW 50+ BF.HI de0c1710-…: Bezugsgroesse "not available", no unit; A1-A3 GWP 2837.82
    dataset_id = "obd2020:de0c1710-057b-46ff-b6da-9fb26c113fa3"
    assert _values(obd2020, dataset_id, "GWP-A1")[("A1-A3", "")] == 2837.82
    assert math.isnan(obd2020.info(dataset_id)["declared_amount"] or math.nan)
    assert math.isnan(_tensor_value(obd2020, dataset_id, "A1-A3", "GWP-A1"))
    with pytest.raises(ConversionError, match="declared_unit"):
        obd2020.conversion_factor(obd2020.resolve(dataset_id), "m2")
    assert math.isnan(obd2020.mass_per_unit(obd2020.resolve(dataset_id)))


def test_br18_values_units_and_mass_factor(br18):
    # tabel7.csv #G0005 Dachsteine: A1-A3 255.909, C3 "-", C4 16.07, D -2.681, faktor 1000, KG, Masse faktor 1
    tiles = "br18:G0005"
    assert _values(br18, tiles, "GWP-A1") == {("A1-A3", ""): 255.909, ("C4", ""): 16.07, ("D", ""): -2.681}
    info = br18.info(tiles)
    assert (info["declared_amount"], info["declared_unit"]) == (1000.0, "kg")
    tensor = br18.tensor(["GWP-A1"], modules=["A1-A3", "C3", "C4"])
    index = br18.resolve(tiles)
    assert tensor[index, 0, 0] == pytest.approx(0.255909)  # per 1 kg
    assert np.isnan(tensor[index, 1, 0])  # "-" = not declared
    # #B1318 CLT: -664 / 744 / 0 / -387 per 1 M3, Masse faktor 470
    clt = "br18:B1318"
    assert _values(br18, clt, "GWP-A1")[("C4", "")] == 0.0  # real zero kept
    assert br18.info(clt)["gross_density_kg_m3"] == 470.0
    assert br18.conversion_factor(br18.resolve(clt), "kg") == pytest.approx(1 / 470)
    assert br18.info(clt)["name_da"] == "Krydslamineret træ, CLT (Forbrænding EoL)"
    # #G0754 Sonnenschutztuch: faktor 1.25077 M2, Masse faktor 0.4 (kg per m2), A1-A3 4.194
    shade = br18.info("br18:G0754")
    assert (shade["declared_amount"], shade["declared_unit"], shade["area_weight_kg_m2"]) == (1.25077, "m2", 0.4)
    assert _tensor_value(br18, "br18:G0754", "A1-A3", "GWP-A1") == pytest.approx(4.194 / 1.25077)
    # #G0095 Rohre für Strom-Wärmepumpe: STK, Masse faktor 123
    assert br18.info("br18:G0095")["mass_per_piece_kg"] == 123.0


# ---------------------------------------------------------------------------- "Umrechungsfaktor auf 1kg"
def test_kg_factor_orientation_in_shipped_data(obd2020, obd2024):
    # HEBEL Bewehrter Porenbeton 0689d6a3-…: m3, Rohdichte 550, factor 550 (= kg, not 1/kg)
    hebel = obd2020.resolve("obd2020:0689d6a3-cd7c-4710-9709-90fe747f60c0")
    assert obd2020.datasets.at[hebel, "conversion_factor_to_kg"] == pytest.approx(1 / 550)
    # Estrichelemente 573cebb5-…: qm, Rohdichte 1180, no thickness, factor 0.034 = 1/(kg per m2)
    screed = obd2020.resolve("obd2020:573cebb5-2963-460f-8d61-0e3eecc1176e")
    assert obd2020.mass_per_unit(screed) == pytest.approx(1 / 0.034)
    # … and through the density: 1 m2 = (1/0.034) kg = (1/0.034)/1180 m3
    assert obd2020.conversion_factor(screed, "m3") == pytest.approx(1180 * 0.034)
    # Entrauchungsklappe dcdd5dac-…: pcs., factor 32.07, nothing to check it against → unused
    damper = obd2020.resolve("obd2020:dcdd5dac-e88b-4679-bcb3-20cb24f081d4")
    assert math.isnan(obd2020.datasets.at[damper, "conversion_factor_to_kg"])
    assert "32.07 not used" in obd2020.datasets.at[damper, "notes"]
    with pytest.raises(ConversionError, match="mass_per_piece_kg"):
        obd2020.conversion_factor(damper, "kg")
    # specific_data.csv 8ef7b1b9-…: m3, Rohdichte 2309, factor 0.0004330879168471 = 1/2309 (as named)
    concrete = obd2024.resolve("obd2024:8ef7b1b9-da21-43c9-a7d1-9a14d9dc7bcf")
    assert obd2024.datasets.at[concrete, "conversion_factor_to_kg"] == pytest.approx(0.0004330879168471)


def test_orient_kg_factor_by_hand():
    # 1000 kg data set, factor 0.001: 0.001 × 1000 kg = 1 kg (the literal meaning) → 1 per kg
    assert orient_kg_factor(0.001, 1000.0, "kg", {})[0] == pytest.approx(1.0)
    # m3 with density 173 and factor 0.0058 ≈ 1/173 → 1/173 m3 per kg
    factor, note = orient_kg_factor(0.0058, 1.0, "m3", {"gross_density_kg_m3": 173.0})
    assert factor == pytest.approx(0.0058) and note == ""
    # m3 with density 550 and factor 550 → the factor is the mass; stored 1/550
    factor, note = orient_kg_factor(550.0, 1.0, "m3", {"gross_density_kg_m3": 550.0})
    assert factor == pytest.approx(1 / 550) and "inverted" in note
    # conflicting: 1 kg declared, factor 0.39
    factor, note = orient_kg_factor(0.39, 1.0, "kg", {})
    assert math.isnan(factor) and "neither way" in note
    # m2, density 1400, factor 0.056: 1/0.056 = 17.9 kg/m2 → 12.8 mm (plausible); 0.056 kg/m2 → 0.04 mm
    factor, note = orient_kg_factor(0.056, 1.0, "m2", {"gross_density_kg_m3": 1400.0})
    assert factor == pytest.approx(0.056) and "12.8 mm" in note
    # piece with nothing else: undecidable
    assert math.isnan(orient_kg_factor(12.7, 1.0, "piece", {})[0])


# ---------------------------------------------------------------------------- library mechanics
def _tiny_library() -> EPDLibrary:
    datasets = pd.DataFrame(
        [
            {"dataset_id": "t:parts", "source": "t", "declared_amount": 2.0, "declared_unit": "m3"},
            {"dataset_id": "t:both", "source": "t", "declared_amount": 1.0, "declared_unit": "kg"},
            {"dataset_id": "t:two-parts", "source": "t", "declared_amount": 1.0, "declared_unit": "kg"},
            {
                "dataset_id": "t:concrete",
                "source": "t",
                "declared_amount": 1.0,
                "declared_unit": "m3",
                "gross_density_kg_m3": 2400.0,
            },
            {
                "dataset_id": "t:board",
                "source": "t",
                "declared_amount": 1.0,
                "declared_unit": "m2",
                "layer_thickness_m": 0.2,
                "gross_density_kg_m3": 500.0,
            },
            {
                "dataset_id": "t:brick",
                "source": "t",
                "declared_amount": 1.0,
                "declared_unit": "piece",
                "mass_per_piece_kg": 2.5,
            },
            {
                "dataset_id": "t:profile",
                "source": "t",
                "declared_amount": 1.0,
                "declared_unit": "m",
                "linear_weight_kg_m": 4.0,
            },
            {"dataset_id": "t:plain", "source": "t", "declared_amount": 1.0, "declared_unit": "m3"},
            {
                "dataset_id": "t:sheet",
                "source": "t",
                "declared_amount": 1.0,
                "declared_unit": "m2",
                "conversion_factor_to_kg": 0.05,
            },
        ]
    )
    values = pd.DataFrame(
        [
            ("t:parts", "A1", "", "GWP-total", 10.0),
            ("t:parts", "A2", "", "GWP-total", 1.0),
            ("t:parts", "A3", "", "GWP-total", 3.0),
            ("t:parts", "C3", "", "GWP-total", 0.0),
            ("t:both", "A1-A3", "", "GWP-total", 7.0),
            ("t:both", "A1", "", "GWP-total", 100.0),
            ("t:both", "A2", "", "GWP-total", 100.0),
            ("t:both", "A3", "", "GWP-total", 100.0),
            ("t:two-parts", "A1", "", "GWP-total", 5.0),
            ("t:two-parts", "A3", "", "GWP-total", 1.0),
        ],
        columns=list(VALUE_COLUMNS),
    )
    return EPDLibrary(datasets, values, name="tiny")


def test_a1_a3_from_parts_nan_for_undeclared():
    library = _tiny_library()
    tensor = library.tensor(["GWP-total", "ODP"], modules=["A1-A3", "C3", "D"])
    parts, both, two = (library.resolve(i) for i in ("t:parts", "t:both", "t:two-parts"))
    assert tensor[parts, 0, 0] == pytest.approx((10 + 1 + 3) / 2)  # summed, per 1 of 2 m3
    assert tensor[both, 0, 0] == 7.0  # the declared aggregate wins over the parts
    assert np.isnan(tensor[two, 0, 0])  # A2 missing: no A1-A3
    assert tensor[parts, 1, 0] == 0.0  # declared zero stays 0
    assert np.isnan(tensor[parts, 2, 0])  # D not declared
    assert np.isnan(tensor[:, :, 1]).all()  # ODP never declared


def test_unit_conversions_by_hand():
    library = _tiny_library()
    concrete, board, brick, profile, sheet = (
        library.resolve(i) for i in ("t:concrete", "t:board", "t:brick", "t:profile", "t:sheet")
    )
    # m3 ↔ kg by density: 1 kg = 1/2400 m3; 1 t = 1000/2400 m3; 1 litre = 0.001 m3
    assert library.conversion_factor(concrete, "kg") == pytest.approx(1 / 2400)
    assert library.conversion_factor(concrete, "t") == pytest.approx(1000 / 2400)
    assert library.conversion_factor(concrete, "l") == pytest.approx(0.001)
    assert library.mass_per_unit(concrete) == pytest.approx(2400)
    # m2 ↔ m3 by thickness: 1 m3 of a 0.2 m board = 5 m2; 1 kg = 1/(500 × 0.2) m2
    assert library.conversion_factor(board, "m3") == pytest.approx(5.0)
    assert library.conversion_factor(board, "kg") == pytest.approx(1 / 100)
    assert library.conversion_factor(board, "cm**2") == pytest.approx(1e-4)
    # piece ↔ kg: 10 kg of 2.5 kg bricks = 4 pieces
    assert 10 * library.conversion_factor(brick, "kg") == pytest.approx(4.0)
    # mm vs m, and kg via linear weight
    assert library.conversion_factor(profile, "mm") == pytest.approx(0.001)
    assert library.conversion_factor(profile, "kg") == pytest.approx(0.25)
    # declared units per kg: 0.05 m2 per kg, i.e. 20 kg per m2
    assert library.conversion_factor(sheet, "kg") == pytest.approx(0.05)
    assert library.mass_per_unit(sheet) == pytest.approx(20.0)


def test_conversion_error_names_the_missing_property():
    library = _tiny_library()
    plain, brick, board = (library.resolve(i) for i in ("t:plain", "t:brick", "t:board"))
    with pytest.raises(ConversionError, match="gross_density_kg_m3") as caught:
        library.conversion_factor(plain, "kg")
    assert caught.value.field == "unit"
    with pytest.raises(ConversionError, match="layer_thickness_m"):
        library.conversion_factor(plain, "m2")
    with pytest.raises(ConversionError, match="gross_density_kg_m3"):  # piece → m3 needs the density
        EPDLibrary(
            pd.DataFrame([{"dataset_id": "x:1", "declared_amount": 1.0, "declared_unit": "m3"}]),
            pd.DataFrame(columns=list(VALUE_COLUMNS)),
        ).conversion_factor(0, "piece")
    assert library.conversion_factor(brick, "piece") == 1.0
    assert math.isnan(library.mass_per_unit(plain))
    with pytest.raises(UnitError):
        library.conversion_factor(board, "furlongs per fortnight")


def test_unknown_epd_ids():
    library = _tiny_library()
    with pytest.raises(UnknownEPDError, match="t:nope"):
        library.resolve("t:nope")
    with pytest.raises(KeyError):  # UnknownEPDError is also a KeyError
        library.info("obd2024:00000000-0000-0000-0000-000000000000")
    assert "t:concrete" in library and "concrete" in library and "t:nope" not in library
    with pytest.raises(UnknownEPDError, match="nosuch"):
        load_library(["nosuch"])


# ---------------------------------------------------------------------------- ÖKOBAUDAT reader details
_HEADER_2020 = (
    "UUID;Version;Name (de);Name (en);Kategorie (original);Kategorie (en);Konformität;Laenderkennung;Typ;"
    "Referenzjahr;Gueltig bis;URL;Declaration owner;Bezugsgroesse;Bezugseinheit;Referenzfluss-Name;"
    "Rohdichte (kg/m3);Flaechengewicht (kg/m2);Schichtdicke (m);Umrechungsfaktor auf 1kg;Modul;Szenario;"
    "GWP;ODP;PERE;GWPtotal (A2);"
)


def _fixture_2020(tmp_path):
    rows = [
        _HEADER_2020,
        "aaaa-1;00.01.000;Ziegel Müller;Brick;'Mineralische' / 'Ziegel';'Mineral' / 'Bricks';'DIN EN 15804';DE;"
        "generic dataset;2019;2024;http://x;BBSR;1;m3;Ziegel;1800;;;;A1-A3;;100.5;1e-9;0;;",
        "aaaa-1;00.01.000;Ziegel Müller;Brick;'Mineralische' / 'Ziegel';'Mineral' / 'Bricks';'DIN EN 15804';DE;"
        "generic dataset;2019;2024;http://x;BBSR;1;m3;Ziegel;1800;;;;D;S1;-3,5;;;;",
        "aaaa-1;00.01.000;Ziegel Müller;Brick;'Mineralische' / 'Ziegel';'Mineral' / 'Bricks';'DIN EN 15804';DE;"
        "generic dataset;2019;2024;http://x;BBSR;1;m3;Ziegel;1800;;;;D;S2;-1;;;;",
        "bbbb-2;00.02.000;LKW;Truck;'Sonstige';'Others';'DIN EN 15804';DE;generic dataset;2019;2024;;BBSR;"
        "1000;kgkm;Transportleistung;;;;;A4;;0.09;;;;",
        "cccc-3;00.01.000;Platte;Board;'Holz';'Wood';'EN 15804+A2';DE;specific dataset;2022;2027;;Firma;"
        "3,6;qm;Platte;700;;;;A1-A3;;;;;12.5;",
    ]
    path = tmp_path / "OBD_fixture.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    return path


def test_read_official_export_flavour(tmp_path):
    datasets, values = read_oekobaudat(_fixture_2020(tmp_path), "obd2020")
    assert datasets["dataset_id"].tolist() == ["obd2020:aaaa-1", "obd2020:bbbb-2", "obd2020:cccc-3"]
    brick = datasets.iloc[0]
    assert brick["name_de"] == "Ziegel Müller"  # latin-1 decoded
    assert brick["category"] == "Mineral / Bricks"
    assert (brick["declared_amount"], brick["declared_unit"], brick["gross_density_kg_m3"]) == (1.0, "m3", 1800.0)
    assert brick["standard"] == "EN 15804+A1" and brick["data_type"] == "generic"
    truck = datasets.iloc[1]
    assert (truck["declared_amount"], truck["declared_unit"]) == (1.0, "t*km")
    board = datasets.iloc[2]
    assert (board["declared_amount"], board["declared_unit"], board["standard"]) == (3.6, "m2", "EN 15804+A2")
    got = {(r.dataset_id, r.module, r.scenario, r.indicator): r.value for r in values.itertuples(index=False)}
    assert got == {
        ("obd2020:aaaa-1", "A1-A3", "", "GWP-A1"): 100.5,
        ("obd2020:aaaa-1", "A1-A3", "", "ODP-A1"): 1e-9,
        ("obd2020:aaaa-1", "A1-A3", "", "PERE"): 0.0,
        ("obd2020:aaaa-1", "D", "S1", "GWP-A1"): -3.5,  # decimal comma
        ("obd2020:aaaa-1", "D", "S2", "GWP-A1"): -1.0,
        ("obd2020:bbbb-2", "A4", "", "GWP-A1"): 0.09,
        ("obd2020:cccc-3", "A1-A3", "", "GWP-total"): 12.5,
    }
    # without the corrections the truck keeps its literal 1000 kg*km (= 1 t*km, same per-unit value)
    raw, _ = read_oekobaudat(_fixture_2020(tmp_path), "obd2020", corrections=DeclaredUnitCorrections.none())
    assert (raw.iloc[1]["declared_amount"], raw.iloc[1]["declared_unit"]) == (1000.0, "kg*km")


def test_read_processed_comma_flavour(tmp_path):
    path = tmp_path / "generic.csv"
    path.write_text(
        "UUID,Version,Name (de),Name (en),Typ,Konformität,Bezugsgroesse,Bezugseinheit,Stueckgewicht (kg),"
        "Modul,Szenario,GWPtotal (A2),PM (A2),SOP (A2)\n"
        "dddd-4,20.24.070,Kalksandstein,Sand-lime brick,generic dataset,\"'EN 15804+A2 (EF 3.1)'\",1,pcs.,3.2,"
        "A1-A3,,0.5,,0.0\n",
        encoding="utf-8",
    )
    datasets, values = read_oekobaudat(path, "obd2024")
    assert datasets.iloc[0]["declared_unit"] == "piece" and datasets.iloc[0]["mass_per_piece_kg"] == 3.2
    assert values[["indicator", "value"]].values.tolist() == [["GWP-total", 0.5], ["SQP", 0.0]]


def test_reader_errors_are_typed(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a;b\n1;2\n", encoding="utf-8")
    with pytest.raises(ParseError, match="missing column") as caught:
        read_oekobaudat(bad, "x")
    assert caught.value.file == str(bad)
    module = tmp_path / "module.csv"
    module.write_text("UUID;Bezugsgroesse;Bezugseinheit;Modul;GWP\nu1;1;kg;Z9;1\n", encoding="utf-8")
    with pytest.raises(ParseError, match="Z9"):
        read_oekobaudat(module, "x")
    number = tmp_path / "number.csv"
    number.write_text("UUID;Bezugsgroesse;Bezugseinheit;Modul;GWP\nu1;1;kg;A1-A3;abc\n", encoding="utf-8")
    with pytest.raises(ParseError, match="GWP"):
        read_oekobaudat(number, "x")
    unit = tmp_path / "unit.csv"
    unit.write_text("UUID;Bezugsgroesse;Bezugseinheit;Modul;GWP\nu1;1;bananas;A1-A3;1\n", encoding="utf-8")
    with pytest.raises(ParseError, match="bananas"):
        read_oekobaudat(unit, "x")
    with pytest.raises(ParseError, match="Tabel 7"):
        read_br18(bad)


def test_parse_number_and_tidy_unit():
    assert parse_number("3,6") == 3.6
    assert math.isnan(parse_number(""))
    with pytest.raises(ParseError):
        parse_number("1.234,5")
    assert [tidy_unit(u) for u in ("qm", "m3", "pcs.", "kg", "m", "MJ", "a", "t*km", "kgkm", "STK", "M2", "L")] == [
        "m2",
        "m3",
        "piece",
        "kg",
        "m",
        "MJ",
        "year",
        "t*km",
        "kg*km",
        "piece",
        "m2",
        "l",
    ]


# ---------------------------------------------------------------------------- ILCD
def test_ilcd_reader_matches_shipped_parquet(ilcd):
    library = read_ilcd(ILCD_JSON)
    assert library.ids == ilcd.ids
    pd.testing.assert_frame_equal(library.values, ilcd.values)


def test_ilcd_gwp_agrees_with_lcax(ilcd):
    import lcax  # the independent parser (crosscheck extra)

    catalogue = indicator_catalogue()
    gwp_codes = {"GWP-total", "GWP-A1"}
    checked = 0
    for path in sorted(ILCD_JSON.glob("*.json")):
        epd = json.loads(lcax.convert_ilcd(path.read_text(encoding="utf-8")).dumps())
        dataset_id = f"ilcd:{epd['id']}"
        rows = ilcd.values[(ilcd.values["dataset_id"] == dataset_id) & ilcd.values["indicator"].isin(gwp_codes)]
        code = rows["indicator"].iloc[0]
        assert catalogue[code].standard == {"en15804a1": "EN 15804+A1", "en15804a2": "EN 15804+A2"}[epd["standard"]]
        index = ilcd.resolve(dataset_id)
        amount = ilcd.datasets.at[index, "declared_amount"]
        for module_key, lcax_value in epd["impacts"]["gwp"].items():
            module = "A1-A3" if module_key == "a1a3" else module_key.upper()
            if module == "A1-A3":  # lcax sums A1+A2+A3 when only the parts are declared
                mine = ilcd.tensor([code], modules=["A1-A3"])[index, 0, 0] * amount
                assert mine == pytest.approx(lcax_value, rel=1e-9, abs=1e-12), (dataset_id, module)
            else:  # with scenarios lcax keeps the last one in source order
                declared = rows[rows["module"] == module]
                assert declared["value"].iloc[-1] == pytest.approx(lcax_value, rel=1e-12, abs=1e-15)
            checked += 1
    assert checked > 80


def test_ilcd_modules_scenarios_and_indicator_sets(ilcd):
    # f63ac879 Massivholzplatte: A1, A2, A3 and A1-A3, D "energetisch" and "stofflich" (+A1)
    wood = "ilcd:f63ac879-fa7d-4f91-813e-e816cbdf1927"
    gwp = _values(ilcd, wood, "GWP-A1")
    assert set(gwp) == {
        ("A1", ""),
        ("A2", ""),
        ("A3", ""),
        ("A1-A3", ""),
        ("A5", ""),
        ("C2", ""),
        ("C3", ""),
        ("D", "energetisch"),
        ("D", "stofflich"),
    }
    assert ilcd.scenarios(ilcd.resolve(wood), "D") == ["energetisch", "stofflich"]
    info = ilcd.info(wood)
    assert (info["declared_amount"], info["declared_unit"], info["gross_density_kg_m3"]) == (1.0, "m3", 510.45)
    assert info["biogenic_carbon_kg"] == 219.94
    # 0b4c397d cement foam: C3 S1/S2, D S1/S2
    foam = _values(ilcd, "ilcd:0b4c397d-c7a1-4ceb-9718-184334f6364e", "GWP-A1")
    assert {k for k in foam if k[1]} == {("C3", "S1"), ("C3", "S2"), ("D", "S1"), ("D", "S2")}
    # +A2 data set 0cb92770 (Aluminiumprofil pressblank): 19 EF indicators, no +A1 codes
    alu = ilcd.values[ilcd.values["dataset_id"] == "ilcd:0cb92770-9007-48c6-bc03-466af8894419"]
    catalogue = indicator_catalogue()
    impact = {c for c in alu["indicator"] if catalogue[c].group in ("core", "additional", "impact")}
    assert len(impact) == 19 and all(catalogue[c].standard == "EN 15804+A2" for c in impact)
    assert ilcd.info("ilcd:0cb92770-9007-48c6-bc03-466af8894419")["standard"] == "EN 15804+A2"
    # 0aa8b645 (EPD Norge): 20 LCIA results, GWP-IOBC/GHG not in the catalogue → 19 imported, noted
    norge = ilcd.values[ilcd.values["dataset_id"] == "ilcd:0aa8b645-02d9-41b4-8aa3-70335af2a9e7"]
    assert len({c for c in norge["indicator"] if catalogue[c].group in ("core", "additional")}) == 19
    assert "GWP-IOBC/GHG" in ilcd.info("ilcd:0aa8b645-02d9-41b4-8aa3-70335af2a9e7")["notes"]


def test_ilcd_declared_units_and_material_properties(ilcd):
    # 503dfca1: reference flow resultingflowAmount 1000, unit kg; e7ff6cf1: meanAmount 1000 kg
    for uuid in ("503dfca1-7c65-4179-9ffa-ebc6d8b48b7d", "e7ff6cf1-d493-4cf0-ba82-6b3f1f6f71e7"):
        info = ilcd.info(f"ilcd:{uuid}")
        assert (info["declared_amount"], info["declared_unit"]) == (1000.0, "kg")
    # 0d1e4a59 Betonpflastersteine: qm; layer thickness 0.08 m, gross density 2350, grammage 188,
    # conversion factor to 1 kg 188 (= the grammage, i.e. kg per m2)
    paver = ilcd.info("ilcd:0d1e4a59-4901-4973-a26f-1698f65a780f")
    assert paver["declared_unit"] == "m2"
    assert (paver["layer_thickness_m"], paver["gross_density_kg_m3"], paver["area_weight_kg_m2"]) == (
        0.08,
        2350.0,
        188.0,
    )
    assert paver["conversion_factor_to_kg"] == pytest.approx(1 / 188)
    # 00c28f1f window fitting: pcs., weight per unit 0.696 kg/Stk
    assert ilcd.info("ilcd:00c28f1f-1d49-4c81-9208-138922a1dd6c")["mass_per_piece_kg"] == 0.696
    # 0cb92770: EP-freshwater labelled kg PO_(4)-Äq. (+A2 misprint) kept as stated and noted
    assert "EP-freshwater labelled" in ilcd.info("ilcd:0cb92770-9007-48c6-bc03-466af8894419")["notes"]


def test_indicator_aliases_are_consistent():
    aliases = IndicatorAliases.shipped()
    catalogue = indicator_catalogue()
    registry = unit_registry()
    assert {c for c in aliases.by_uuid.values() if c} <= set(catalogue)
    for codes in aliases.by_acronym.values():
        assert set(codes) <= set(catalogue)
    for (text, code), unit in aliases.units.items():
        parse_unit(unit)
        if code:
            registry.Quantity(1.0, parse_unit(unit)).to(parse_unit(catalogue[code].unit))
    # each uuid-mapped indicator's unit strings seen in the data convert to its catalogue unit
    assert aliases.unit("kg CO_(2)-Äq.", "GWP-total") == parse_unit("kg_CO2_eq")
    assert aliases.unit("kg CO2 eqv.", "GWP-total") == parse_unit("kg_CO2_eq")
    assert aliases.unit("-", "SQP") == parse_unit("SQP_pt")


def test_ilcd_errors_are_typed(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ParseError, match="JSON") as caught:
        read_ilcd(broken)
    assert caught.value.file == str(broken)
    with pytest.raises(ParseError, match="no such"):
        read_ilcd(tmp_path / "missing.json")
    doc = json.loads((ILCD_JSON / "c23b2987-776d-4d55-91c7-5f2a0f2c50f1.json").read_text(encoding="utf-8"))
    result = doc["LCIAResults"]["LCIAResult"][0]
    for any_ in result["other"]["anies"]:
        if any_.get("name") == "referenceToUnitGroupDataSet":
            any_["value"]["shortDescription"][0]["value"] = "furlongs"
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(doc), encoding="utf-8")
    # an unknown unit refuses that indicator only: missing, and named in the notes (a loss)
    datasets, values = read_ilcd_frames(odd)
    _, original = read_ilcd_frames(ILCD_JSON / "c23b2987-776d-4d55-91c7-5f2a0f2c50f1.json")
    lost = set(original["indicator"]) - set(values["indicator"])
    assert len(lost) == 1 and "furlongs" in datasets["notes"][0] and lost.pop() in datasets["notes"][0]


# ---------------------------------------------------------------------------- conversion script
def test_convert_script_on_fixtures(tmp_path):
    shared = tmp_path / "shared" / "data-candidates"
    (shared / "oekobaudat-2020-II").mkdir(parents=True)
    fixture = _fixture_2020(tmp_path)
    raw = fixture.read_bytes()
    (shared / "oekobaudat-2020-II" / "OBD_2020_II.csv").write_bytes(raw)
    (shared / "br18-tabel7").mkdir()
    (shared / "br18-tabel7" / "tabel7.csv").write_text(
        'Sorterings ID,Data type,Navn DE/ENG,Navn DK,"Global Opvarmning, modul A1-A3",'
        '"Global Opvarmning, modul C3","Global Opvarmning, modul C4","Global Opvarmning, modul D",'
        "Deklareret faktor (FU),Deklareret enhed (FU),Masse faktor,Url (link),Kommentar\n"
        "#G0001,Generisk data,Beton,Beton,250,-,1.5,-10,1,M3,2400,,\n"
        "#G0002,Generisk data,Rohr,Rør,8,0.5,-,-,1,L,1.2,,\n",
        encoding="utf-8",
    )
    out = tmp_path / "epd"
    assert convert_main([str(tmp_path / "shared"), "--out", str(out), "--only", "obd2020", "br18"]) == 0
    library = load_library(folder=out)
    assert library.name == "br18+obd2020"
    assert len(library) == 2 + 3
    obd = EPDLibrary.from_folder(out / "obd2020")
    assert len(obd.values) == 7  # the 7 filled indicator cells of the fixture
    br = EPDLibrary.from_folder(out / "br18")
    assert br.values[["dataset_id", "module", "value"]].values.tolist() == [
        ["br18:G0001", "A1-A3", 250.0],
        ["br18:G0001", "C4", 1.5],
        ["br18:G0001", "D", -10.0],
        ["br18:G0002", "A1-A3", 8.0],
        ["br18:G0002", "C3", 0.5],
    ]
    # 1.2 kg per litre = 1200 kg/m3
    assert br.info("br18:G0002")["gross_density_kg_m3"] == pytest.approx(1200.0)
    source_md = (out / "obd2020" / "SOURCE.md").read_text(encoding="utf-8")
    assert hashlib.sha256(raw).hexdigest() in source_md
    assert "data sets: **3**" in source_md and "source rows (data set × module × scenario): **5**" in source_md
    for name in ("obd2020", "br18"):
        assert (out / name / "datasets.parquet").stat().st_size > 0
        assert (out / name / "values.parquet").stat().st_size > 0
    # missing raw folder: a clean error, exit code 1
    assert convert_main([str(tmp_path / "shared"), "--out", str(out), "--only", "ilcd"]) == 1
