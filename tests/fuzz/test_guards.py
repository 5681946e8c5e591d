"""Issue 23, class 1: guards linear in the input, checked before anything is built.

Linearity is shown without timing a unit test: the pathological inputs below are large enough that
a quadratic scan would run for hours (the old regex took 167 s on 200 KB), and each runs in a forked
child with a budget (:func:`mpeil.batch.budget.run_with_budget`): the child must finish inside it.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path

import pytest

from mpeil.batch.budget import run_with_budget
from mpeil.errors import InputError, ParseError
from mpeil.limits import load_limits
from mpeil.readers import read_buildings
from mpeil.readers.guards import JsonGuard, check_json, read_regular, special_kind

from .corpus import base_building

LIMITS = load_limits()
#: no limit but depth: the guard must scan the whole input
OPEN = LIMITS.replace(json_containers=2**62, json_values=2**62, json_string_bytes=2**62)


def _counts(guard: JsonGuard) -> tuple[int, int, int, int]:
    return guard.max_depth, guard.containers, guard.values, guard.longest_string


# ------------------------------------------------------------------ counts, by hand
def test_counts_of_a_small_document_by_hand():
    text = b'{"a": [1, 2, {"b": "x\\"}["}], "c": "\\\\"}'
    # containers: { [ { -> 3 (the } [ inside the string are text); depth 3 ({ [ {)
    # values: commas outside strings 3 (after 1, after 2, after ]) + 3 containers = 6
    # strings: "a" 1, "b" 1, x\"}[ 5 bytes, "c" 1, \\ 2 bytes -> longest 5
    assert _counts(check_json(text, OPEN)) == (3, 3, 6, 5)
    json.loads(text)  # the hand-counted document is valid JSON


def test_chunks_of_any_size_give_the_same_counts():
    rng = random.Random(23)
    pieces = ['"\\\\"', '"\\""', "[", "]", "{", "}", ",", '"a\\\\\\"b"', "1", '"[{,"']
    for _ in range(50):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 200))).encode()
        whole = _counts(check_json(text, OPEN))
        guard = JsonGuard(OPEN)
        at = 0
        while at < len(text):
            step = rng.randrange(1, 7)
            guard.feed(text[at : at + step])
            at += step
        assert _counts(guard.close()) == whole, text


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _random_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(6 if depth < 8 else 3)
    if kind == 0:
        return rng.choice(['a"b', "\\", '\\"[', "{}", "]", ""]) * rng.randrange(3)
    if kind in (1, 2):
        return rng.random()
    if kind == 3:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {str(i) + rng.choice(['"', "\\", "{"]): _random_json(rng, depth + 1) for i in range(rng.randrange(4))}


def test_depth_and_containers_agree_with_the_parser():
    rng = random.Random(7)
    for _ in range(200):
        value = _random_json(rng)
        text = json.dumps(value)
        guard = check_json(text, OPEN)
        assert guard.max_depth == _depth(value)
        assert guard.containers == text.count("[") + text.count("{") - _in_strings(value, "[{")


def _in_strings(value, characters: str) -> int:
    """How many of ``characters`` the document's strings (keys too) hold, as json.dumps writes them."""
    if isinstance(value, str):
        return sum(json.dumps(value).count(c) for c in characters)
    if isinstance(value, dict):
        return sum(_in_strings(k, characters) + _in_strings(v, characters) for k, v in value.items())
    if isinstance(value, list):
        return sum(_in_strings(v, characters) for v in value)
    return 0


# ------------------------------------------------------------------ linear in the input
def _scan(data: bytes) -> tuple:
    return _counts(check_json(data, OPEN))


@pytest.mark.parametrize(
    "data",
    [
        # the old regex's worst case: deep nesting, then an unterminated string of escaped quotes
        b"[" * 60 + b'"' + b'\\"' * 10_000_000,
        # a long run of backslashes before every quote
        (b'"' + b"\\" * 999 + b'"') * 20_000,
        # ten million tiny containers
        b"[" + b"{}," * 6_000_000 + b"{}]",
    ],
    ids=["escaped-quotes-20MB", "backslash-runs-20MB", "containers-18MB"],
)
def test_the_guard_is_linear_on_inputs_a_quadratic_scan_would_take_hours_on(data):
    # 20 MB: the old check took 3.3 s at 20 KB and 167 s at 200 KB (quadratic), hours here.
    # A linear scan needs about a second; the child gets 60 s and 256 MB above the parent.
    outcome = run_with_budget(_scan, (data,), 60.0, 256 << 20)
    assert outcome.status == "ok", outcome
    depth, _containers, _values, longest = outcome.value
    assert depth <= 61
    assert longest <= len(data)


def test_a_long_unterminated_string_is_refused_in_the_first_blocks():
    data = b'{"id": "' + b"x" * 50_000_000
    with pytest.raises(InputError) as caught:
        check_json(data, LIMITS, "big.json")
    assert caught.value.field == "json_string_bytes"


# ------------------------------------------------------------------ before the model sees it
def _write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_million_empty_elements_are_refused_before_the_model(tmp_path, monkeypatch):
    building = base_building()
    text = json.dumps(building).replace('"elements": [', '"elements": [' + "{}," * 1_000_000, 1)
    path = _write(tmp_path, "many.json", text)  # 3 MB
    monkeypatch.setattr("mpeil.readers.buildings.Building.model_validate", _never)
    with pytest.raises(InputError) as caught:
        read_buildings(path)
    assert caught.value.field == "json_containers"


def _never(*args, **kwargs):
    raise AssertionError("the building model must not see this input")


def _template_building(count: int) -> dict:
    building = base_building()
    building["elements"] = [
        {"id": f"t{i}", "template": "EW-cavity-brick", "quantity": 1.0} for i in range(count)
    ] + building["elements"]
    return building


def test_template_elements_are_counted_before_they_are_expanded(tmp_path, monkeypatch):
    # the reader imports element_data from mpeil.model.templates when a file has templates
    monkeypatch.setattr("mpeil.model.templates.element_data", _never)
    path = _write(tmp_path, "templates.json", json.dumps(_template_building(11)))
    with pytest.raises(InputError) as caught:
        read_buildings(path, LIMITS.replace(elements_per_building=12))
    assert caught.value.field == "elements"  # 11 template elements + 2 plain = 13 > 12
    # EW-cavity-brick has 8 layer lines (scenarios/elements/EW-cavity-brick.toml): 11 x 8 + 4 own = 92 > 50
    with pytest.raises(InputError) as caught:
        read_buildings(path, LIMITS.replace(lines_per_file=50))
    assert caught.value.field == "layers"


def test_csv_rows_are_refused_while_they_are_read(tmp_path):
    rows = "building_id,gross_floor_area_m2,element_id,element_quantity,product,amount,unit\n"
    rows += "b,100,e,1,x,1,kg\n" * 10
    path = _write(tmp_path, "rows.csv", rows)
    with pytest.raises(InputError) as caught:
        read_buildings(path, LIMITS.replace(table_rows=9))
    assert caught.value.field == "table_rows"


# ------------------------------------------------------------------ special files
@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "x.json"
    os.mkfifo(path)
    return path


def _read_fifo(path: str) -> str:
    try:
        read_buildings(path)
    except ParseError as error:
        return f"{error.field}: {error.message}"
    return "read"


def test_a_named_pipe_is_refused_by_type_and_never_blocks(fifo):
    outcome = run_with_budget(_read_fifo, (str(fifo),), 20.0, 512 << 20)
    assert outcome.status == "ok", outcome  # a reader blocked on the pipe would time out
    assert outcome.value == "file_type: a named pipe, not a regular file: refused"
    assert special_kind(fifo) == "a named pipe"
    with pytest.raises(ParseError):
        read_regular(Path("/dev/null"), 10)


def test_batch_records_a_named_pipe_instead_of_skipping_it(fifo):
    from mpeil.batch.inputs import discover, read_item

    items = discover([str(fifo.parent)], LIMITS)
    assert [Path(item.path).name for item in items] == ["x.json"]
    with pytest.raises(ParseError) as caught:
        read_item(items[0], LIMITS)
    assert caught.value.field == "file_type"


# ------------------------------------------------------------------ batch leftovers
def _leave_a_copy_and_hang(_: int) -> None:
    import time

    folder = tempfile.mkdtemp(prefix="mpeil-batch-")
    Path(folder, "copy.json").write_text("{}", encoding="utf-8")
    Path(os.environ["MPEIL_TEST_MARK"]).write_text(folder, encoding="utf-8")
    time.sleep(60)


def test_a_call_killed_by_its_budget_leaves_no_temporary_folder(tmp_path, monkeypatch):
    mark = tmp_path / "mark"
    monkeypatch.setenv("MPEIL_TEST_MARK", str(mark))
    outcome = run_with_budget(_leave_a_copy_and_hang, (0,), 2.0, 512 << 20)
    assert outcome.status == "timeout"
    folder = Path(mark.read_text(encoding="utf-8"))
    assert folder.name.startswith("mpeil-batch-")
    assert not folder.exists() and not folder.parent.exists()
