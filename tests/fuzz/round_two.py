"""Hostile inputs of issue 23 (hardening, round two), each with the outcome decided by construction.

Every case here got through before issue 23 (a score with exit 0, a hang, gigabytes, or an internal
error showing install paths); each must now be a typed error. See tests/fuzz/test_round_two.py for
the method-file, special-file and budget cases, which are not building files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from .corpus import CONCRETE, REBAR, Case, base_building


def _json(data) -> bytes:
    return json.dumps(data, ensure_ascii=True, allow_nan=True).encode("utf-8")


def _inline(*values: tuple[str, float]) -> dict:
    """The house with its rebar line taken from inline data sets ``x0``, ``x1`` … (GWP-total in A1-A3)."""
    building = base_building()
    building["datasets"] = [
        {"id": f"x{i}", "name": "hostile", "declared_unit": "kg", "values": {module: {"GWP-total": value}}}
        for i, (module, value) in enumerate(values)
    ]
    layers = building["elements"][1]["layers"]
    layers[1]["product"] = "inline:x0"
    if len(values) > 1:
        layers[0].update(product="inline:x1", amount=12.0, unit="kg")
    return building


def _edit(path: tuple, value) -> bytes:
    building = base_building()
    target = building
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return _json(building)


def _every_limit_at_its_edge() -> dict:
    """Each value within data/batch_limits.csv, together giving a score no building has."""
    building = base_building()
    for element in building["elements"]:
        for layer in element["layers"]:
            layer.update(transport_distance_km=40_000, loss_rate=0.49, service_life_years=1)
    return building


def _template_flood(count: int) -> dict:
    building = base_building()
    building["elements"] = [
        {"id": f"t{i}", "template": "EW-cavity-brick", "quantity": 1.0} for i in range(count)
    ] + building["elements"]
    return building


def round_two_cases() -> Iterator[Case]:
    """Issue 23's attacks on building files (JSON and CSV); every one must be refused."""
    # cost out of proportion to size
    yield Case("json-escaped-quotes-after-nesting", "json", b"[" * 60 + b'"' + b'\\"' * 100_000, "error")
    million = json.dumps(base_building()).replace('"elements": [', '"elements": [' + "{}," * 1_000_000, 1)
    yield Case("json-million-empty-elements", "json", million.encode(), "error")
    yield Case("json-template-flood", "json", _json(_template_flood(120_000)), "error")
    yield Case("json-2MB-string", "json", _edit(("name",), "x" * 2_000_000), "error")
    # absurd numbers
    yield Case("json-every-limit-at-its-edge", "json", _json(_every_limit_at_its_edge()), "error")
    yield Case("json-inline-minus-1e6", "json", _json(_inline(("A1-A3", -1e6))), "error")
    yield Case("json-inline-1e308", "json", _json(_inline(("A1-A3", 1e308))), "error")
    yield Case("json-inline-plus-minus-1e308", "json", _json(_inline(("A1-A3", 1e308), ("A1-A3", -1e308))), "error")
    yield Case("json-inline-nan", "json", _json(_inline(("A1-A3", float("nan")))), "error")
    yield Case("json-quantity-1e-300", "json", _edit(("elements", 0, "quantity"), 1e-300), "error")
    yield Case("json-existing-minus-zero", "json", _edit(("elements", 0, "layers", 0, "existing"), -0.0), "error")
    yield Case("json-existing-one-float", "json", _edit(("elements", 0, "layers", 0, "existing"), 1.0), "error")
    yield Case("json-removed-one-int", "json", _edit(("elements", 0, "layers", 0, "removed"), 1), "error")
    yield Case(
        "json-scenario-d-nonexistent", "json", _edit(("elements", 1, "layers", 1, "scenario"), {"D": "x"}), "error"
    )
    # reach outside the project
    for name, template in (
        ("traversal", "../../pyproject"),
        ("absolute", "/etc/passwd"),
        ("300-chars", "EW-" + "x" * 297),
        ("backslash", "..\\..\\pyproject"),
    ):
        building = base_building()
        building["elements"].append({"id": "t", "template": template, "quantity": 1.0})
        yield Case(f"json-template-{name}", "json", _json(building), "error")
    yield Case("json-libraries-5000-chars", "json", _json({**base_building(), "libraries": ["y" * 5000]}), "error")
    header = "building_id,gross_floor_area_m2,element_id,element_quantity,template,product,amount,unit\n"
    csv = header + f"b,100,w,10,../../pyproject,,,\nb,100,f,10,,{CONCRETE},0.2,m\nb,100,f,,,{REBAR},12,kg\n"
    yield Case("csv-template-traversal", "csv", csv.encode(), "error")
