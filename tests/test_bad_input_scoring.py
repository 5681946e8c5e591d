"""Bad input found while scoring a file: typed errors naming file, building, element, layer, field."""

import pytest

import mpeil
from mpeil.errors import ConversionError, UnitError, UnknownEPDError
from mpeil.model import Building, Element, Layer
from mpeil.readers import write_building
from mpeil.testing import tiny_library, tiny_scenarios


def _file(tmp_path, layer: Layer, unit="m2"):
    building = Building(
        id="house-1",
        gross_floor_area_m2=100,
        elements=[
            Element(
                id="wall",
                quantity=10,
                unit=unit,
                layers=[
                    Layer(product="t:brick", amount=100, unit="kg", layer="C1"),
                    layer.model_copy(update={"layer": "C2"}),
                ],
            )
        ],
    )
    path = tmp_path / "house.json"
    write_building(building, path)
    return path


def _score(path):
    return mpeil.score(
        path, method="gwp", library=tiny_library(), scenarios=tiny_scenarios(), default_transport="truck"
    )


def test_unknown_dataset(tmp_path):
    path = _file(tmp_path, Layer(product="t:unobtainium", amount=1, unit="kg"))
    with pytest.raises(UnknownEPDError) as info:
        _score(path)
    error = info.value
    assert isinstance(error, KeyError)
    assert (error.file, error.building, error.element, error.field) == (str(path), "house-1", "wall", "product")
    assert "C2" in error.layer and "t:unobtainium" in str(error)


def test_missing_density_for_volume_to_mass(tmp_path):
    # t:brick is declared per kg with no density: a thickness (volume) cannot become kg
    path = _file(tmp_path, Layer(product="t:brick", amount=0.1, unit="m"))
    with pytest.raises(ConversionError) as info:
        _score(path)
    error = info.value
    assert isinstance(error, ValueError) and error.field
    assert (error.file, error.element) == (str(path), "wall") and "C2" in error.layer
    assert "density" in str(error) or "gross_density_kg_m3" in str(error)


def test_unknown_unit(tmp_path):
    path = _file(tmp_path, Layer(product="t:brick", amount=1, unit="furlongs per fortnight"))
    with pytest.raises(UnitError) as info:
        _score(path)
    assert info.value.field == "unit" and info.value.element == "wall" and "C2" in info.value.layer


def test_ratio_unit_that_does_not_match_the_element(tmp_path):
    path = _file(tmp_path, Layer(product="t:brick", amount=10, unit="kg/m"))  # per m on an m² element
    with pytest.raises(UnitError) as info:
        _score(path)
    assert info.value.field == "unit" and "per m2" in str(info.value)
