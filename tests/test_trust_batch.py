"""Issue 8 in batch outputs: the weight split and grade in the summary, NaN/null (never 0) for an
undeclared indicator in the summary, the tidy results and the receipts, one indicator set for all."""

from __future__ import annotations

import json
import math

import pyarrow.parquet as pq
import pytest
from batch_support import good_building

from mpeil.batch import run_batch
from mpeil.readers import write_building

SIX = ("HTP-c", "HTP-nc", "PM", "IRP", "ETP-fw", "SQP")  # not declared by the ÖKOBAUDAT generic data (issue 8)
AS_OF = "2026-06-01"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("trust")
    inputs = root / "in"
    inputs.mkdir()
    for i in (1, 2):
        write_building(good_building(i), inputs / f"house-{i}.json")
    out = {}
    for policy in ("estimated", "declared"):
        summary = run_batch(
            [inputs], root / policy, method_options={"gap_policy": policy}, as_of=AS_OF, gwp_method=None
        )
        assert summary.exit_code == 0
        out[policy] = root / policy
    return out


def test_summary_has_the_split_and_a_grade(runs):
    rows = pq.read_table(runs["estimated"] / "summary.parquet").to_pylist()
    for row in rows:
        assert row["weight_declared"] + row["weight_estimated"] == pytest.approx(1.0, abs=1e-12)
        assert row["weight_missing"] == pytest.approx(0.0, abs=1e-12)
        assert row["quality_grade"] in {"A", "B", "C", "D", "E"}
        assert sorted(row["indicators_estimated"]) == sorted(SIX)


def test_declared_policy_writes_null_never_zero(runs):
    out = runs["declared"]
    rows = pq.read_table(out / "summary.parquet").to_pylist()
    assert all(row["weight_estimated"] == 0.0 for row in rows)
    for path in (out / "receipts").glob("*.json"):
        numbers = json.loads(path.read_text(encoding="utf-8"))["numbers"]
        for code in SIX:
            assert numbers[f"{code} per area"]["value"] is None
    tidy = pq.read_table(out / "results", columns=["indicator", "value"]).to_pandas()
    values = tidy.loc[tidy["indicator"].isin(SIX), "value"]
    assert len(values) and values.isna().all()


def test_every_building_of_a_batch_uses_one_indicator_set(runs):
    rows = pq.read_table(runs["estimated"] / "summary.parquet").to_pylist()
    assert len({tuple(sorted(r["indicators_estimated"])) for r in rows}) == 1
    assert all(not math.isnan(r["score"]) for r in rows)
