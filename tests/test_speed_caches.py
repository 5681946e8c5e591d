"""The caches behind issue 20's speed: each serves a file's content once and never outlives it.

- ``load_library`` reads a library folder once per file version (size, modification time);
- ``load_label_scale`` reads a label CSV once per file version;
- unit conversions are cached by content, so two libraries with the same data set agree and an
  unconvertible data set still names itself in the error.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from mpeil.errors import ConversionError
from mpeil.methods.labels import load_label_scale
from mpeil.model.library import EPDLibrary, load_library
from mpeil.testing import tiny_library


def _write(library: EPDLibrary, folder) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    library.datasets.to_parquet(folder / "datasets.parquet")
    library.values.to_parquet(folder / "values.parquet")


def _touch_later(path) -> None:
    """Give ``path`` a modification time one second later (a rewrite within one clock tick)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_a_library_folder_is_read_once_per_file_version(tmp_path):
    tiny = tiny_library()
    _write(tiny, tmp_path / "tiny")
    first = load_library(folder=tmp_path)
    assert load_library(folder=tmp_path) is first  # the same object: its derived data are shared
    # rewrite the values with every GWP-total doubled: the next load sees the new file
    values = tiny.values.copy()
    gwp = values["indicator"] == "GWP-total"
    values.loc[gwp, "value"] = values.loc[gwp, "value"] * 2.0
    values.to_parquet(tmp_path / "tiny" / "values.parquet")
    _touch_later(tmp_path / "tiny" / "values.parquet")
    second = load_library(folder=tmp_path)
    assert second is not first
    before = first.tensor(("GWP-total",), ("A1-A3",))
    after = second.tensor(("GWP-total",), ("A1-A3",))
    declared = ~np.isnan(before)
    assert declared.any()
    np.testing.assert_array_equal(after[declared], 2.0 * before[declared])  # doubling is exact


def test_a_label_scale_is_read_once_per_file_version(tmp_path):
    header = "use_type,label,upper_bound,unit,derivation,source\n"
    bands = "".join(
        f"house,{label},{bound},mPt,policy,test\n" for label, bound in zip("ABCDEF", (1, 2, 3, 4, 5, 6), strict=True)
    )
    path = tmp_path / "m.csv"
    path.write_text(header + bands + "house,G,inf,mPt,policy,test\n", encoding="utf-8")
    first = load_label_scale("m", tmp_path)
    assert load_label_scale("m", tmp_path) is first
    assert first.assign(["house"], [2.5]) == ["C"]  # 2 < 2.5 ≤ 3
    path.write_text(header + bands.replace("house,C,3,", "house,C,2.6,") + "house,G,inf,mPt,policy,test\n")
    _touch_later(path)
    second = load_label_scale("m", tmp_path)
    assert second is not first
    assert second.assign(["house"], [2.7]) == ["D"]  # now 2.6 < 2.7 ≤ 4
    assert first.bounds["house"].flags.writeable is False  # a shared scale cannot be changed by a caller


def test_conversions_are_shared_by_content_and_errors_still_name_the_data_set():
    tiny = tiny_library()
    twin = EPDLibrary(tiny.datasets.copy(), tiny.values.copy(), name="twin")
    for index in range(len(tiny)):
        mass, mass_twin = tiny.mass_per_unit(index), twin.mass_per_unit(index)
        assert (np.isnan(mass) and np.isnan(mass_twin)) or mass == mass_twin
    datasets = tiny.datasets.copy()
    for column in ("gross_density_kg_m3", "bulk_density_kg_m3", "area_weight_kg_m2", "linear_weight_kg_m"):
        datasets[column] = np.nan
    datasets["mass_per_piece_kg"] = np.nan
    datasets["conversion_factor_to_kg"] = np.nan
    bare = EPDLibrary(datasets, tiny.values, name="bare")
    index = int(np.flatnonzero(bare.datasets["declared_unit"].astype(str) != "kg")[0])
    with pytest.raises(ConversionError) as error:
        bare.conversion_factor(index, "kg")
    assert repr(str(bare.datasets.at[index, "dataset_id"])) in str(error.value)


def test_the_cache_folder_is_private_or_off(tmp_path, monkeypatch):
    from mpeil.units import cache_dir

    monkeypatch.setenv("MPEIL_CACHE_DIR", str(tmp_path / "c"))
    folder = cache_dir("pint")
    assert folder == tmp_path / "c" / "pint" and folder.is_dir()
    assert folder.stat().st_mode & 0o077 == 0  # created for this user only
    monkeypatch.setenv("MPEIL_CACHE_DIR", "none")
    assert cache_dir("pint") is None
