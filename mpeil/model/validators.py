"""The strict field types of the building model: the one place the model's strictness lives.

Every number field of :mod:`mpeil.model.building` is one of the ``Annotated`` types below, so a
new model part (issue 11's element templates) inherits the same rules by using them:

- a boolean is never a number (``true`` as a floor area, an XLSX ``TRUE`` as an amount);
- floats are finite; a number given as text is at most :data:`MAX_NUMBER_TEXT` characters and an
  integer at most :data:`MAX_INTEGER_DIGITS` digits (no 5,000-digit integer reaches ``float()``);
- identifiers are non-empty, at most :data:`MAX_ID_LENGTH` characters, valid Unicode (no lone
  surrogate) and hold no control character (no ANSI escape reaches a terminal or a file name);
- free text is valid Unicode and at most :data:`MAX_TEXT_LENGTH` characters;
- scenario choices name EN 15804 modules.

These are *type* rules, true of any input. Plausibility (a floor area of 1e-300 m²) is data,
``data/batch_limits.csv``, checked by :mod:`mpeil.validation` after compiling.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_TEXT_LENGTH",
    "MAX_NUMBER_TEXT",
    "MAX_INTEGER_DIGITS",
    "MAX_ELEMENTS",
    "MAX_LINES_PER_ELEMENT",
    "MAX_METADATA_ITEMS",
    "SCENARIO_MODULES",
    "PositiveFloat",
    "NonNegativeFloat",
    "FiniteFloat",
    "Share",
    "LossRate",
    "Cycles",
    "Switch",
    "ElementQuantity",
    "MIN_ELEMENT_QUANTITY",
    "Year",
    "Identifier",
    "Text",
    "ScenarioChoice",
    "Metadata",
]

MAX_ID_LENGTH = 256
MAX_TEXT_LENGTH = 10_000
MAX_NUMBER_TEXT = 64
MAX_INTEGER_DIGITS = 30
#: safety bounds on list sizes (memory of one file); plausibility bounds are in data/batch_limits.csv
MAX_ELEMENTS = 1_000_000
MAX_LINES_PER_ELEMENT = 1_000_000
MAX_METADATA_ITEMS = 1_000
#: keys of ``Layer.scenario``: the EN 15804 modules (A1-A3 also one by one)
SCENARIO_MODULES = frozenset(
    ("A1-A3", "A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "C1", "C2", "C3", "C4", "D")
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _number_input(value: Any) -> Any:
    """Refuse what pydantic's lax mode would turn into a number by accident."""
    if type(value) is float:  # the common case (a JSON number with a fraction): nothing to refuse
        return value
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "a boolean ({value}) is not a number", {"value": value})
    if isinstance(value, str) and len(value.strip()) > MAX_NUMBER_TEXT:
        raise PydanticCustomError(
            "number_too_long",
            "a number of {n} characters (at most {limit})",
            {"n": len(value), "limit": MAX_NUMBER_TEXT},
        )
    if isinstance(value, int) and value.bit_length() > MAX_INTEGER_DIGITS * 3.33:
        raise PydanticCustomError(
            "integer_too_long", "an integer of more than {limit} digits", {"limit": MAX_INTEGER_DIGITS}
        )
    return value


def _valid_unicode(value: str) -> str:
    if value.isascii():  # constant time (CPython keeps the string's widest character): no surrogate
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PydanticCustomError(
            "invalid_unicode", "text holds an invalid character (a lone surrogate at position {at})", {"at": exc.start}
        ) from None
    return value


def _identifier(value: str) -> str:
    # fast path, one pass in C: a printable string holds no control character (category Cc) and no
    # lone surrogate (Cs), so it passes every check below; anything else takes them in their order
    if value and value.isprintable():
        return value
    if not value:
        raise PydanticCustomError("empty_identifier", "must not be empty")
    _valid_unicode(value)
    match = _CONTROL.search(value)
    if match:
        raise PydanticCustomError(
            "control_character",
            "an identifier must not hold control characters ({char} at position {at})",
            {"char": repr(match.group()), "at": match.start()},
        )
    return value


def _scenario_modules(value: dict[str, str] | None) -> dict[str, str] | None:
    for module in value or {}:
        if module not in SCENARIO_MODULES:
            raise PydanticCustomError(
                "unknown_module",
                "scenario names module {module}, which is not an EN 15804 module ({known})",
                {"module": repr(module), "known": ", ".join(sorted(SCENARIO_MODULES))},
            )
    return value or None  # {} and None both mean "the data sets' first scenarios"


def _switch_input(value: Any) -> Any:
    """A yes/no field takes true/false (or their text from a spreadsheet), never a number (``-0.0``, ``1.0``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise PydanticCustomError("number_not_bool", "a number ({value}) is not true or false", {"value": value})
    return value


_Number = BeforeValidator(_number_input)
#: true/false only: pydantic's lax mode would read 0, 1.0 and -0.0 as booleans
Switch = Annotated[bool, BeforeValidator(_switch_input)]
#: an element quantity: 1e-9 of an element unit (a square millimetre is 1e-6 m²) is already no element;
#: a smaller positive number (1e-300) is a typing or unit mistake that only multiplies errors downstream
MIN_ELEMENT_QUANTITY = 1e-9
ElementQuantity = Annotated[float, Field(ge=MIN_ELEMENT_QUANTITY, allow_inf_nan=False), _Number]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False), _Number]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False), _Number]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False), _Number]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), _Number]
LossRate = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False), _Number]
Cycles = Annotated[int, Field(ge=1, le=1000), _Number]
Year = Annotated[int, Field(ge=0, le=9999), _Number]
Identifier = Annotated[str, Field(max_length=MAX_ID_LENGTH), AfterValidator(_identifier)]
Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH), AfterValidator(_valid_unicode)]
ScenarioChoice = Annotated[
    dict[Annotated[str, Field(max_length=8)], Identifier] | None, AfterValidator(_scenario_modules)
]
Metadata = Annotated[dict[Annotated[Text, Field(max_length=MAX_ID_LENGTH)], Text], Field(max_length=MAX_METADATA_ITEMS)]
