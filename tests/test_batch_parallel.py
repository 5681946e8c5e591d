"""The executor does not change a single bit: serial, a process pool (--jobs 2) and a Dask local
cluster give the same tables and receipts."""

from __future__ import annotations

import json

from batch_support import assert_same_outputs, building_dict, write_good_corpus

from mpeil.batch import run_batch

AS_OF = "2026-06-01"


def test_process_pool_and_dask_equal_serial_bit_for_bit(tmp_path):
    inputs = tmp_path / "in"
    write_good_corpus(inputs, n=7)  # 9 good buildings
    (inputs / "broken.json").write_text("[1, 2", encoding="utf-8")
    bad = building_dict(2)
    bad["elements"][1]["layers"][0]["unit"] = "blorp"
    (inputs / "bad-unit.json").write_text(json.dumps(bad), encoding="utf-8")

    serial = run_batch([inputs], tmp_path / "serial", chunk_size=3, as_of=AS_OF)
    pool = run_batch([inputs], tmp_path / "pool", chunk_size=3, as_of=AS_OF, jobs=2)
    dask = run_batch([inputs], tmp_path / "dask", chunk_size=3, as_of=AS_OF, scheduler="local")

    assert (serial.executor, pool.executor, dask.executor) == ("serial", "processes:2", "dask")
    for other in (pool, dask):
        assert (other.files, other.buildings, other.errors, other.chunks) == (11, 9, 2, 4)
    assert_same_outputs(tmp_path / "serial", tmp_path / "pool")
    assert_same_outputs(tmp_path / "serial", tmp_path / "dask")
