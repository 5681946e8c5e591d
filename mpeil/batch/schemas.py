"""Arrow schemas of the batch tables (documented in ``SCHEMAS.md``; a test holds the two together).

Every part file is written with these schemas, so an empty chunk (all inputs bad) writes the
same columns and types as a full one, and readers of the directory see one schema.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

__all__ = ["RESULTS_SCHEMA", "SUMMARY_SCHEMA", "ERRORS_SCHEMA", "to_table"]

_STR = pa.string()

RESULTS_SCHEMA = pa.schema(
    [
        ("file", _STR),
        ("building", _STR),
        ("element", _STR),
        ("element_type", _STR),
        ("module", _STR),
        ("indicator", _STR),
        ("value", pa.float64()),
        ("unit", _STR),
        ("missing_lines", pa.int32()),
    ]
)

SUMMARY_SCHEMA = pa.schema(
    [
        ("file", _STR),
        ("building", _STR),
        ("input_sha256", _STR),
        ("chunk", pa.int64()),
        ("method", _STR),
        ("score", pa.float64()),
        ("score_unit", _STR),
        ("label", _STR),
        ("label_note", _STR),
        ("weight_covered", pa.float64()),
        ("weight_declared", pa.float64()),
        ("weight_estimated", pa.float64()),
        ("weight_missing", pa.float64()),
        ("lines_missing_share", pa.float64()),
        ("complete", pa.bool_()),
        ("quality_grade", _STR),
        ("flags", pa.list_(_STR)),
        ("indicators_estimated", pa.list_(_STR)),
        ("gwp_method", _STR),
        ("gwp_per_m2_yr", pa.float64()),
        ("gwp_unit", _STR),
        ("gwp_weight_covered", pa.float64()),
        ("gross_floor_area_m2", pa.float64()),
        ("study_period_years", pa.float64()),
        ("use_type", _STR),
        ("n_elements", pa.int64()),
        ("n_lines", pa.int64()),
        ("share_lines_mapped", pa.float64()),
        ("mapped_volume_share", pa.float64()),
        ("mapped_mass_share", pa.float64()),
        ("share_lines_with_mass", pa.float64()),
        ("mass_kg_per_m2", pa.float64()),
        ("share_specific_lines", pa.float64()),
        ("share_average_lines", pa.float64()),
        ("share_generic_lines", pa.float64()),
        ("expired_epd_lines", pa.int64()),
        ("expired_epds", pa.list_(_STR)),
        ("default_service_life_lines", pa.int64()),
        ("fallback_lines", pa.int64()),
        ("indicators_missing", pa.list_(_STR)),
        ("indicators_partial", pa.list_(_STR)),
        ("module_gaps", _STR),
        ("warnings", pa.list_(_STR)),
        ("receipt", _STR),
    ]
)

ERRORS_SCHEMA = pa.schema(
    [
        ("file", _STR),
        ("building", _STR),
        ("element", _STR),
        ("layer", _STR),
        ("field", _STR),
        ("error_type", _STR),
        ("message", _STR),
        ("input_sha256", _STR),
        ("chunk", pa.int64()),
    ]
)


def to_table(frame: pa.Table | pd.DataFrame | list[dict] | None, schema: pa.Schema) -> pa.Table:
    """A table with exactly ``schema``'s columns and types (an empty input gives an empty table).

    An Arrow dictionary column whose values have the schema's type is kept as it is (a Parquet file
    written from it without its Arrow schema reads back as the plain column): casting it would
    materialise one string per row.
    """
    if isinstance(frame, pa.Table):
        columns = []
        for name in schema.names:
            column, wanted = frame.column(name), schema.field(name).type
            dictionary = pa.types.is_dictionary(column.type) and column.type.value_type == wanted
            columns.append(column if dictionary else column.cast(wanted))
        return pa.table(columns, names=schema.names)
    if isinstance(frame, list):
        if not frame:
            return schema.empty_table()
        return pa.Table.from_pylist(frame, schema=schema)
    if frame is None or len(frame) == 0:
        return schema.empty_table()
    return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
