"""Hostile passports: random mutations of a small passport (its hash recomputed, so they reach the
model) either read as a building or fail with a typed mpeil error, never a traceback."""

from __future__ import annotations

import copy
import random

import pytest

import mpeil
from mpeil.errors import MpeilError
from mpeil.model import Building, Element, Layer
from mpeil.model.passport import content_sha256, passport_buildings
from mpeil.testing import tiny_library, tiny_scenarios

ODD_VALUES = (None, "x", -1, 1e308, [], {}, True, [1], {"a": 1})


@pytest.fixture(scope="module")
def document() -> dict:
    layer = Layer(product="t:concrete", amount=0.2, unit="m", waste_category="Concrete", disassembly="glued")
    building = Building(
        id="b",
        gross_floor_area_m2=100.0,
        elements=[Element(id="EW-1", element_type="EW", quantity=10.0, unit="m2", layers=[layer])],
    )
    passport = mpeil.passport_of(
        building, method="gwp", library=tiny_library(), scenarios=tiny_scenarios(), default_transport="truck"
    )
    return passport.model_dump(mode="json")


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _mutate(document: dict, rng: random.Random) -> dict:
    mutated = copy.deepcopy(document)
    path = rng.choice([p for p in _paths(mutated) if p])
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, dict) and rng.random() < 0.3:
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(ODD_VALUES)
    if rng.random() < 0.2:
        mutated["passport_version"] = "1.0"
        mutated.pop("coordinator", None)
    if rng.random() < 0.9:
        mutated["content_sha256"] = content_sha256(mutated)
    return mutated


def test_mutated_passports_read_or_fail_typed(document):
    rng = random.Random(24)
    outcomes = {"read": 0, "refused": 0}
    for _ in range(400):
        try:
            passport_buildings(_mutate(document, rng), "fuzz.json")
            outcomes["read"] += 1
        except MpeilError:
            outcomes["refused"] += 1
    assert outcomes["read"] + outcomes["refused"] == 400 and outcomes["refused"] > 0
