"""Micro-batching of single-building scores (issue 21): uploads scored together as one frame get exactly
the summary and the receipt (every number's bits, the results hash) that scoring each alone gives; an
upload the joint scoring refuses, or one that cannot be read, gets its own answer and the others theirs;
through the worker pool, concurrent requests are batched and each is answered as when scored alone."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from service_support import EXAMPLES

from mpeil.errors import MpeilError
from mpeil.limits import load_limits
from mpeil.service.scoring import ScoringEngine
from mpeil.service.workers import Budget, ScoringPool, batch_key
from mpeil.synthetic import write_stock

HOUSE = (EXAMPLES / "terraced_house.json").read_bytes()
MB = 2**20


@pytest.fixture(scope="module")
def engine():
    started = ScoringEngine()
    yield started
    started.close()


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> list[tuple[bytes, str, str]]:
    folder = tmp_path_factory.mktemp("stock")
    found = [
        (HOUSE, ".json", "house.json"),
        ((EXAMPLES / "apartment_building.json").read_bytes(), ".json", "flat.json"),
    ]
    found += [(p.read_bytes(), ".json", p.name) for p in write_stock(6, folder, seed=21, per_file=1)]
    found.append((HOUSE, ".json", "house-again.json"))  # the same building id twice in one batch
    return found


def _alone(engine, upload, method="mpeil-ef31", options=None):
    try:
        return engine.score(*upload, method, options or {}, load_limits())
    except MpeilError as error:
        return error


def _same(alone, joint) -> None:
    if isinstance(alone, MpeilError):
        assert type(joint) is type(alone) and str(joint) == str(alone)
        return
    assert joint.summary == alone.summary
    assert joint.receipt == alone.receipt  # every number's hex bits and the element results' SHA-256


def test_a_batch_gives_each_upload_exactly_its_answer_alone(engine, uploads):
    joint = engine.score_many(uploads, "mpeil-ef31", {}, load_limits())
    assert len(joint) == len(uploads)
    for upload, one in zip(uploads, joint, strict=True):
        _same(_alone(engine, upload), one)
    ids = [one.summary["buildings"][0]["building"] for one in joint]
    assert ids[0] == ids[-1] == "example-terraced-house"  # named as in its own upload, not as renamed
    assert joint[0].result is None  # scored in company: reports are rendered from the input, alone


def test_a_batch_gives_each_upload_its_own_trust_fields(engine, uploads):
    """The data-quality grade, the estimated indicators, their data sets and the notes of a building
    scored in company are those it has alone (and name it as in its own upload, never as renamed)."""
    joint = engine.score_many(uploads, "mpeil-ef31", {}, load_limits())
    keys = ("quality_grade", "indicators_estimated", "estimated_datasets", "notes", "coverage", "score_unit")
    for upload, one in zip(uploads, joint, strict=True):
        alone = _alone(engine, upload).summary
        assert one.summary["notes"] == alone["notes"]
        for building, own in zip(one.summary["buildings"], alone["buildings"], strict=True):
            assert {k: building[k] for k in keys} == {k: own[k] for k in keys}
        assert not any("~" in note.split(":")[0] for note in one.summary["notes"])  # no "0003~id" alias
    house = joint[0].summary["buildings"][0]
    assert house["quality_grade"] == "C" and "ODP" in house["indicators_estimated"]  # the CLI's (test_service_api)
    datasets = {tuple(one.summary["buildings"][0]["estimated_datasets"]) for one in joint}
    assert len(datasets) > 2  # the uploads differ in what is estimated: a building taking another's would show


def test_a_batch_with_options_matches_alone(engine, uploads):
    options = {"include_d": True, "replacement_rule": "fractional"}
    joint = engine.score_many(uploads[:4], "mpeil-ef31", options, load_limits())
    for upload, one in zip(uploads[:4], joint, strict=True):
        _same(_alone(engine, upload, options=options), one)


def test_refused_uploads_get_their_own_errors_and_the_others_their_scores(engine, uploads):
    tiny = json.loads(HOUSE)
    tiny["id"], tiny["gross_floor_area_m2"] = "tiny-floor", 1.0  # a score far above any plausible bound
    broken = (b'{"id": "x", "elements": [', ".json", "broken.json")
    batch = [uploads[0], (json.dumps(tiny).encode(), ".json", "tiny.json"), broken, uploads[2]]
    joint = engine.score_many(batch, "mpeil-ef31", {}, load_limits())
    alone = [_alone(engine, upload) for upload in batch]
    assert isinstance(alone[1], MpeilError) and isinstance(alone[2], MpeilError)  # the cases are refusals
    for one_alone, one in zip(alone, joint, strict=True):
        _same(one_alone, one)


def test_only_small_json_scores_are_batched(tmp_path):
    budget = Budget(192 * MB, 10.0)
    small, large = tmp_path / "small", tmp_path / "large"
    small.write_bytes(HOUSE)
    large.write_bytes(HOUSE + b" " * 2000)
    task = {"kind": "score", "path": str(small), "suffix": ".json", "method": "mpeil-ef31", "options": {}, "store": "s"}
    assert batch_key(task, budget, 1000) == (None, len(HOUSE))  # above the size limit: alone
    key, size = batch_key(task, budget, 100_000)
    assert key is not None and size == len(HOUSE)
    assert batch_key({**task, "path": str(large)}, budget, 100_000) == (key, len(HOUSE) + 2000)
    assert batch_key({**task, "suffix": ".xlsx"}, budget, 100_000)[0] is None
    assert batch_key({**task, "kind": "compare"}, budget, 100_000)[0] is None
    assert batch_key({**task, "options": {"include_d": True}}, budget, 100_000)[0] != key
    assert batch_key(task, Budget(1024 * MB, 120.0), 100_000)[0] != key


def test_the_pool_batches_concurrent_requests_and_answers_each_as_alone(engine, uploads, tmp_path):
    pool = ScoringPool(1, b"k" * 32, batch_size=8, batch_wait=0.2, batch_bytes=1 << 20).start()
    store = tmp_path / "store"
    tasks = []
    for i, (data, suffix, name) in enumerate(uploads):
        path = tmp_path / f"upload-{i}"
        path.write_bytes(data)
        tasks.append({
            "kind": "score", "path": str(path), "suffix": suffix, "name": name, "method": "mpeil-ef31",
            "options": {}, "limits": load_limits(), "store": str(store), "receipt_id": f"{i:022d}",
            "owner": "anon:test", "claim": None,
        })  # fmt: skip

    async def burst(sent):
        return await asyncio.gather(*(pool.run(task, Budget(192 * MB, 60.0)) for task in sent), return_exceptions=True)

    try:
        done = asyncio.run(burst(tasks))
        batched = pool.batches
        # a batch refused as a whole (here: a method no worker knows) is sent again task by task
        unknown = asyncio.run(burst([{**task, "method": "no-such-method"} for task in tasks[:3]]))
    finally:
        pool.close()
        shutil.rmtree(store, ignore_errors=True)
    assert batched >= 2  # at least one batch of two or more was scored together
    for upload, reply in zip(uploads, done, strict=True):
        assert reply["summary"] == _alone(engine, upload).summary
    assert [type(r).__name__ for r in unknown] == ["TaskFailed"] * 3
    assert all(r.kind == "UnknownMethodError" and r.status == 422 for r in unknown)
    assert pool.batches == batched  # none of them counted as scored in company
