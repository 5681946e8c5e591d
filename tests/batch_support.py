"""Inputs for the batch tests: small good buildings on shipped ÖKOBAUDAT 2024 data sets, and a corpus
of deliberately broken inputs, each with the error (type and field) it must produce."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

from mpeil.batch.limits import load_limits
from mpeil.model import Building, Element, Layer
from mpeil.readers import write_building

#: shipped generic data sets (data/epd/obd2024): declared per m³ with a density, or per kg
CONCRETE = "obd2024:e3d7a045-ee91-43ac-8fb4-a5216c65ba0b"  # Transportbeton C20/25, m³, 2360 kg/m³
REBAR = "obd2024:f6861618-5a92-4c3a-94ba-9f7329b29662"  # Bewehrungsstahl, kg
SAND_LIME = "obd2024:c916ceb3-a44d-40b7-8984-861afa589956"  # Kalksandstein, m³, 2000 kg/m³
MINERAL_WOOL = "obd2024:d3661bd8-0107-4081-987b-4bdd5cfcb68d"  # Mineralwolle, m³, 30 kg/m³

#: test limits: the shipped ones with a small file-size limit, so a "huge" file stays small on disk
TEST_FILE_SIZE = 200_000
TEST_ZIP_TOTAL = 50_000_000


def limits_for_tests():
    return load_limits().replace(file_size=TEST_FILE_SIZE, zip_uncompressed_total=TEST_ZIP_TOTAL)


def good_building(i: int, building_id: str | None = None) -> Building:
    """A small house: a sand-lime wall with mineral wool, a reinforced concrete floor (sizes vary with i)."""
    return Building(
        id=building_id or f"house-{i:03d}",
        use_type="terraced",
        gross_floor_area_m2=100.0 + i,
        elements=[
            Element(
                id="wall",
                element_type="EW",
                quantity=120.0 + 2 * i,
                unit="m2",
                layers=[
                    Layer(
                        product=SAND_LIME,
                        amount=0.15,
                        unit="m",
                        layer="C1",
                        service_life_years=60,
                        waste_category="Concrete",
                    ),
                    Layer(product=MINERAL_WOOL, amount=0.12 + 0.001 * i, unit="m", layer="C2", service_life_years=40),
                ],
            ),
            Element(
                id="floor",
                element_type="SF",
                quantity=50.0 + i,
                unit="m2",
                layers=[
                    Layer(
                        product=CONCRETE,
                        amount=0.2,
                        unit="m",
                        layer="C1",
                        service_life_years=60,
                        waste_category="Concrete",
                    ),
                    Layer(
                        product=REBAR,
                        amount=12.0,
                        unit="kg",
                        layer="C2",
                        service_life_years=60,
                        waste_category="Metals",
                    ),
                ],
            ),
        ],
    )


def building_dict(i: int = 0) -> dict:
    return good_building(i).model_dump(mode="json", exclude_defaults=True)


def write_good_corpus(folder: Path, n: int = 12) -> list[str]:
    """``n`` good buildings as JSON, CSV and XLSX files, plus a zip of two more; returns the file labels."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = []
    for i in range(n):
        suffix = (".json", ".csv", ".xlsx")[i % 3]
        path = folder / f"good-{i:03d}{suffix}"
        write_building(good_building(i), path)
        labels.append(os.path.abspath(path))
    archive = folder / "good-archive.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for i in (n, n + 1):
            z.writestr(f"dossiers/house-{i}.json", json.dumps(building_dict(i)))
        z.writestr("README.txt", "not a building: ignored")
        z.writestr("__MACOSX/dossiers/._house.json", "resource fork: ignored")
    labels += [f"{os.path.abspath(archive)}!/dossiers/house-{i}.json" for i in (n, n + 1)]
    return labels


# ============================================================================ broken inputs
def _json(path: Path, data) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def _layer(data: dict, element: int = 0, line: int = 0) -> dict:
    return data["elements"][element]["layers"][line]


def _csv_rows(i: int = 0) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a good building written by mpeil's own CSV writer."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.csv"
        write_building(good_building(i), path)
        records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return records[0], records[1:]


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def _set(header, rows, column, value, row=0):
    rows[row][header.index(column)] = value
    return header, rows


def _xlsx(path: Path, change=None) -> None:
    import openpyxl

    write_building(good_building(0), path)
    if change is None:
        return
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    change(sheet, header)
    book.save(path)


def _zip(path: Path, members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> None:
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            z.writestr(info, data)


def write_broken_corpus(folder: Path) -> dict[str, tuple[str, str | None]]:
    """Write every broken input; returns file label → (error type, field) expected in errors.parquet."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, tuple[str, str | None]] = {}

    def expect(name: str, error_type: str, field: str | None, member: str | None = None) -> Path:
        path = folder / name
        label = os.path.abspath(path) + (f"!/{member}" if member else "")
        expected[label] = (error_type, field)
        return path

    # ---------------------------------------------------------------- JSON: the file
    expect("json-malformed.json", "ParseError", None).write_text('{"id": "x", "elements": [', encoding="utf-8")
    expect("json-empty.json", "ParseError", None).write_bytes(b"")
    expect("json-whitespace.json", "ParseError", None).write_text("  \n\t \n", encoding="utf-8")
    latin = json.dumps(building_dict(), ensure_ascii=False).replace('"house-000"', '"maison-é"')
    expect("json-latin1.json", "ParseError", None).write_bytes(latin.encode("latin-1"))
    expect("json-utf16.json", "ParseError", None).write_bytes(json.dumps(building_dict()).encode("utf-16"))
    expect("json-empty-list.json", "ParseError", None).write_text("[]", encoding="utf-8")
    expect("json-number.json", "ParseError", None).write_text("42", encoding="utf-8")
    expect("json-nested.json", "ParseError", "json_depth").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    duplicate = json.dumps(building_dict())[:-1] + ', "id": "again"}'
    expect("json-duplicate-key.json", "ParseError", "id").write_text(duplicate, encoding="utf-8")
    huge = building_dict()
    huge["metadata"] = {"padding": "x" * (TEST_FILE_SIZE + 10)}
    _json(expect("json-huge.json", "InputError", "file_size"), huge)
    # binary content with a building suffix
    expect("json-binary.json", "ParseError", None).write_bytes(bytes(range(256)) * 4)

    # ---------------------------------------------------------------- JSON: values
    def variant(name, error_type, field, change):
        data = building_dict()
        change(data)
        _json(expect(name, error_type, field), data)

    variant(
        "json-unknown-dataset.json",
        "UnknownEPDError",
        "product",
        lambda d: _layer(d).update(product="obd2024:00000000-0000-0000-0000-000000000000"),
    )
    variant("json-unknown-unit.json", "UnitError", "unit", lambda d: _layer(d).update(unit="blorp"))
    variant("json-lightyear-thickness.json", "InputError", "amount", lambda d: _layer(d).update(unit="lightyear"))
    variant("json-unit-wrong-dimension.json", "ConversionError", "unit", lambda d: _layer(d).update(unit="kWh"))
    variant("json-negative-amount.json", "InputError", "amount", lambda d: _layer(d).update(amount=-0.15))
    variant("json-string-amount.json", "InputError", "amount", lambda d: _layer(d).update(amount="fifteen"))
    variant("json-null-amount.json", "InputError", "amount", lambda d: _layer(d).update(amount=None))
    variant("json-missing-amount.json", "InputError", "amount", lambda d: _layer(d).pop("amount"))
    variant("json-empty-product.json", "InputError", "product", lambda d: _layer(d).update(product=""))
    variant(
        "json-ratio-sum.json",
        "InputError",
        "ratio",
        lambda d: d["elements"][0]["layers"].__setitem__(
            slice(0, 1), [dict(_layer(d), ratio=0.5, composition="a"), dict(_layer(d), ratio=0.3, composition="b")]
        ),
    )
    variant("json-ratio-above-one.json", "InputError", "ratio", lambda d: _layer(d).update(ratio=1.5))
    variant("json-gfa-zero.json", "InputError", "gross_floor_area_m2", lambda d: d.update(gross_floor_area_m2=0))
    variant("json-gfa-missing.json", "InputError", "gross_floor_area_m2", lambda d: d.pop("gross_floor_area_m2"))
    variant("json-gfa-absurd.json", "InputError", "gross_floor_area_m2", lambda d: d.update(gross_floor_area_m2=5e6))
    variant("json-gfa-tiny.json", "InputError", "gross_floor_area_m2", lambda d: d.update(gross_floor_area_m2=0.01))
    variant(
        "json-study-period-year.json",
        "InputError",
        "reference_study_period_years",
        lambda d: d.update(reference_study_period_years=2024),
    )
    variant("json-thickness-absurd.json", "InputError", "amount", lambda d: _layer(d).update(amount=150))
    variant("json-mass-absurd.json", "InputError", "amount", lambda d: _layer(d, 1, 1).update(amount=5_000_000))
    variant(
        "json-element-quantity-absurd.json",
        "InputError",
        "element_quantity",
        lambda d: d["elements"][0].update(quantity=1e6),
    )
    variant("json-element-quantity-zero.json", "InputError", "quantity", lambda d: d["elements"][0].update(quantity=0))
    variant("json-no-elements.json", "InputError", "elements", lambda d: d.update(elements=[]))
    variant("json-no-layers.json", "InputError", "layers", lambda d: d["elements"][0].update(layers=[]))
    variant(
        "json-duplicate-element.json", "InputError", "id", lambda d: d["elements"][1].update(id=d["elements"][0]["id"])
    )
    variant("json-unknown-field.json", "InputError", "colour", lambda d: _layer(d).update(colour="red"))
    variant(
        "json-unknown-transport.json",
        "UnknownScenarioError",
        "transport",
        lambda d: _layer(d).update(transport="teleport"),
    )
    variant(
        "json-unknown-waste.json",
        "UnknownScenarioError",
        "waste_category",
        lambda d: _layer(d).update(waste_category="Moon rock"),
    )
    variant(
        "json-unknown-service-category.json",
        "UnknownScenarioError",
        "service_life_category",
        lambda d: _layer(d).update(service_life_category="Forever", service_life_years=None),
    )
    variant(
        "json-negative-service-life.json",
        "InputError",
        "service_life_years",
        lambda d: _layer(d).update(service_life_years=-5),
    )
    variant("json-loss-rate.json", "InputError", "loss_rate", lambda d: _layer(d).update(loss_rate=1.5))
    variant(
        "json-eol-sum.json",
        "InputError",
        "end_of_life",
        lambda d: _layer(d).update(end_of_life={"landfill": 0.5, "recycling": 0.2}),
    )
    variant("json-unknown-use-type.json", "InputError", "use_type", lambda d: d.update(use_type="spaceship"))
    variant("json-element-unit.json", "InputError", "unit", lambda d: d["elements"][0].update(unit="furlong"))
    data = [building_dict(0), building_dict(0)]
    _json(expect("json-duplicate-building.json", "InputError", "id"), data)
    # NaN and Infinity: Python's json reads them
    text = json.dumps(building_dict()).replace('"amount": 0.15', '"amount": NaN', 1)
    expect("json-nan-amount.json", "InputError", "amount").write_text(text, encoding="utf-8")
    text = json.dumps(building_dict()).replace('"amount": 0.15', '"amount": Infinity', 1)
    expect("json-infinite-amount.json", "InputError", "amount").write_text(text, encoding="utf-8")

    # ---------------------------------------------------------------- CSV
    expect("csv-malformed.csv", "ParseError", None).write_text(
        'building_id,gross_floor_area_m2,element_id,element_quantity,product,amount,unit\n"b1,100,e1,1,x,1,kg\n',
        encoding="utf-8",
    )
    expect("csv-empty.csv", "ParseError", None).write_bytes(b"")
    header, _ = _csv_rows()
    _write_csv(expect("csv-header-only.csv", "ParseError", None), header, [])
    h, r = _csv_rows()
    keep = [k for k, c in enumerate(h) if c != "product"]
    _write_csv(
        expect("csv-missing-column.csv", "ParseError", "product"),
        [h[k] for k in keep],
        [[row[k] for k in keep] for row in r],
    )
    h, r = _csv_rows()
    _write_csv(expect("csv-unknown-column.csv", "ParseError", "colour"), h + ["colour"], [row + ["red"] for row in r])
    _write_csv(expect("csv-text-amount.csv", "InputError", "amount"), *_set(*_csv_rows(), "amount", "twelve"))
    _write_csv(expect("csv-nan-amount.csv", "InputError", "amount"), *_set(*_csv_rows(), "amount", "nan"))
    _write_csv(expect("csv-negative-amount.csv", "InputError", "amount"), *_set(*_csv_rows(), "amount", "-1"))
    _write_csv(expect("csv-empty-amount.csv", "InputError", "amount"), *_set(*_csv_rows(), "amount", ""))
    _write_csv(expect("csv-unknown-unit.csv", "UnitError", "unit"), *_set(*_csv_rows(), "unit", "zorkmid"))
    _write_csv(
        expect("csv-unknown-dataset.csv", "UnknownEPDError", "product"),
        *_set(*_csv_rows(), "product", "obd2024:not-a-data-set"),
    )
    _write_csv(expect("csv-empty-element-id.csv", "ParseError", "element_id"), *_set(*_csv_rows(), "element_id", ""))
    _write_csv(expect("csv-empty-building-id.csv", "ParseError", "building_id"), *_set(*_csv_rows(), "building_id", ""))
    _write_csv(
        expect("csv-inconsistent-gfa.csv", "ParseError", "gross_floor_area_m2"),
        *_set(*_csv_rows(), "gross_floor_area_m2", "999", row=1),
    )
    h, r = _csv_rows()
    _set(h, r, "composition", "a", 0)
    _set(h, r, "ratio", "0.6", 0)
    r.insert(1, list(r[0]))
    _set(h, r, "composition", "b", 1)
    _set(h, r, "ratio", "0.6", 1)
    _write_csv(expect("csv-ratio-sum.csv", "InputError", "ratio"), h, r)
    _write_csv(
        expect("csv-absurd-gfa.csv", "InputError", "gross_floor_area_m2"),
        *_set_all(*_csv_rows(), "gross_floor_area_m2", "2e7"),
    )
    _write_csv(expect("csv-utf16.csv", "ParseError", None), *_csv_rows(), encoding="utf-16")
    h, r = _csv_rows()
    r[0] = r[0] + ["extra", "values"]
    _write_csv(expect("csv-too-many-values.csv", "ParseError", None), h, r)

    # ---------------------------------------------------------------- XLSX
    expect("xlsx-malformed.xlsx", "ParseError", None).write_bytes(b"PK\x03\x04 this is not a workbook")
    expect("xlsx-is-csv.xlsx", "ParseError", None).write_text("building_id,amount\nb1,1\n", encoding="utf-8")

    def xlsx_set(column, value):
        def change(sheet, header):
            sheet.cell(row=2, column=header.index(column) + 1).value = value

        return change

    _xlsx(expect("xlsx-text-amount.xlsx", "InputError", "amount"), xlsx_set("amount", "lots"))
    _xlsx(expect("xlsx-unknown-dataset.xlsx", "UnknownEPDError", "product"), xlsx_set("product", "obd2024:nope"))
    _xlsx(expect("xlsx-negative-amount.xlsx", "InputError", "amount"), xlsx_set("amount", -3.0))

    def drop_unit(sheet, header):
        sheet.delete_cols(header.index("unit") + 1)

    _xlsx(expect("xlsx-missing-column.xlsx", "ParseError", "unit"), drop_unit)
    # an XLSX whose parts unpack a thousand times: a zip bomb in a workbook
    bomb_book = expect("xlsx-bomb.xlsx", "InputError", "zip_compression_ratio")
    _xlsx(bomb_book)
    with zipfile.ZipFile(bomb_book, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/padding.xml", b"\0" * 150_000)

    # ---------------------------------------------------------------- archives
    _zip(
        expect("zip-traversal.zip", "InputError", "member_path", "../escape.json"),
        {"../escape.json": json.dumps(building_dict()).encode()},
    )
    _zip(
        expect("zip-absolute.zip", "InputError", "member_path", "/etc/escape.json"),
        {"/etc/escape.json": json.dumps(building_dict()).encode()},
    )
    _zip(
        expect("zip-backslash.zip", "InputError", "member_path", "..\\escape.json"),
        {"..\\escape.json": json.dumps(building_dict()).encode()},
    )
    _zip(
        expect("zip-bomb-ratio.zip", "InputError", "zip_compression_ratio", "bomb.json"), {"bomb.json": b" " * 190_000}
    )
    _zip(expect("zip-bomb-size.zip", "InputError", "file_size", "big.json"), {"big.json": b"\0" * 20_000_000})
    _zip(
        expect("zip-bomb-total.zip", "InputError", "zip_uncompressed_total"),
        {f"part-{k}.json": b"\0" * 20_000_000 for k in range(3)},
    )
    expect("zip-corrupt.zip", "ParseError", None).write_bytes(b"PK\x05\x06" + b"\xff" * 40)
    # a bomb whose headers lie: 150 kB of zeros declared as 1,000 bytes (local header and central directory)
    liar = expect("zip-lying-header.zip", "ParseError", None, "liar.json")
    _zip(liar, {"liar.json": b"0" * 150_000})
    data = bytearray(liar.read_bytes())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = (1000).to_bytes(4, "little")
    data[central + 24 : central + 28] = (1000).to_bytes(4, "little")
    liar.write_bytes(bytes(data))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("house.json", json.dumps(building_dict()))
    _zip(expect("zip-nested.zip", "ParseError", None, "inner.zip"), {"inner.zip": inner.getvalue()})
    # an archive with one good and one bad member: the good one is scored
    mixed = folder / "zip-mixed.zip"
    bad = building_dict()
    _layer(bad).update(unit="blorp")
    _zip(mixed, {"a-good.json": json.dumps(building_dict(40)).encode(), "b-bad.json": json.dumps(bad).encode()})
    expected[os.path.abspath(mixed) + "!/b-bad.json"] = ("UnitError", "unit")
    return expected


def _set_all(header, rows, column, value):
    for row in rows:
        row[header.index(column)] = value
    return header, rows


# ============================================================================ comparing two output directories
def output_files(out: Path) -> dict[str, bytes]:
    """Receipts and part files of a batch output (everything but the run's timestamps)."""
    files = {}
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        if path.is_file() and (relative.startswith("receipts/") or relative.startswith("results/")):
            files[relative] = path.read_bytes()
    return files


def assert_same_outputs(a: Path, b: Path) -> None:
    """Two batch outputs hold the same tables, bit for bit, and the same receipts, byte for byte."""
    import pyarrow.parquet as pq

    for name in ("summary.parquet", "errors.parquet"):
        left, right = pq.read_table(a / name), pq.read_table(b / name)
        assert left.schema == right.schema, name
        assert left.equals(right), f"{name} differs"
    left, right = pq.read_table(a / "results"), pq.read_table(b / "results")
    assert left.equals(right), "results differ"
    files_a, files_b = output_files(a), output_files(b)
    assert sorted(files_a) == sorted(files_b)
    for name in files_a:
        if name.startswith("receipts/"):
            assert files_a[name] == files_b[name], f"{name} differs"
    # bit-for-bit floats (Table.equals treats NaN as equal to NaN only in the same positions)
    for name in ("summary.parquet",):
        for column in ("score", "gwp_per_m2_yr", "weight_covered", "mass_kg_per_m2"):
            xs = [_hex(v) for v in pq.read_table(a / name)[column].to_pylist()]
            ys = [_hex(v) for v in pq.read_table(b / name)[column].to_pylist()]
            assert xs == ys, column
    assert [_hex(v) for v in left["value"].to_pylist()] == [_hex(v) for v in right["value"].to_pylist()]


def _hex(value) -> str | None:
    return None if value is None else float(value).hex()
