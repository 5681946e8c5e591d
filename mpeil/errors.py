"""The mpeil exception hierarchy.

Every error mpeil raises on bad input is an :class:`MpeilError`. Each subclass also
subclasses the builtin a user would naturally catch (``ValueError``, ``KeyError``), the
way pint's ``DimensionalityError`` is also a ``TypeError``. Errors carry *where* the
problem is (file, building, element, layer, field) as attributes, so that a batch can
record them as a row of its error table.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MpeilError",
    "InputError",
    "ParseError",
    "UnitError",
    "ConversionError",
    "UnknownEPDError",
    "UnknownMethodError",
    "UnknownScenarioError",
    "MethodError",
    "CircularityError",
    "ImplausibleResultError",
    "BudgetError",
    "DuplicateBuildingError",
    "UnknownBuildingError",
    "MissingDependencyError",
    "OutputError",
    "MpeilWarning",
    "UnmappedMaterialWarning",
    "LOCATION_FIELDS",
    "safe_text",
]

#: The location attributes every MpeilError may carry, in the order they are printed.
LOCATION_FIELDS = ("file", "building", "element", "layer", "field")


#: longest location part an error carries (a 1 MB id is named by its start)
MAX_LOCATION_LENGTH = 300


def safe_text(value: Any) -> str:
    """``value`` as text that every sink can take: valid UTF-8 (a lone surrogate or an undecodable
    file-name byte becomes a backslash escape) and at most :data:`MAX_LOCATION_LENGTH` characters."""
    text = str(value)
    if len(text) > MAX_LOCATION_LENGTH:
        text = text[: MAX_LOCATION_LENGTH - 1] + "…"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class MpeilError(Exception):
    """Base class of every error mpeil raises on purpose.

    A batch also records the SHA-256 of the input bytes it read (``input_sha256``).

    Parameters
    ----------
    message:
        What is wrong, in words a user can act on.
    file, building, element, layer, field:
        Where it is wrong. Unknown parts stay ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        building: str | None = None,
        element: str | None = None,
        layer: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else safe_text(str(file))
        self.building = None if building is None else safe_text(building)
        self.element = None if element is None else safe_text(element)
        self.layer = None if layer is None else safe_text(layer)
        self.field = None if field is None else safe_text(field)
        self.input_sha256: str | None = None
        super().__init__(message)

    def located(self, **where: Any) -> MpeilError:
        """Fill in location parts that are still unknown; returns ``self``."""
        for key, value in where.items():
            if key in LOCATION_FIELDS and getattr(self, key) is None and value is not None:
                setattr(self, key, safe_text(value))
        return self

    def location(self) -> dict[str, str | None]:
        return {key: getattr(self, key) for key in LOCATION_FIELDS}

    def __str__(self) -> str:
        """``file 'x.json', building 'b', field 'amount': <message>``: where first, then why."""
        where = ", ".join(f"{k} {v!r}" for k, v in self.location().items() if v is not None)
        return f"{where}: {self.message}" if where else self.message

    def __reduce__(self):  # keep location through pickling (multiprocessing, dask)
        return (_rebuild, (type(self), self.message, self.location()))


def _rebuild(cls: type[MpeilError], message: str, location: dict[str, str | None]) -> MpeilError:
    return cls(message, **location)


class InputError(MpeilError, ValueError):
    """A building, method or option holds a value that is not allowed."""


class ParseError(InputError):
    """A file cannot be read: malformed JSON, CSV or XLSX, or a wrong structure."""


class UnitError(MpeilError, ValueError):
    """A unit is unknown, or a quantity has the wrong dimension for its field."""


class ConversionError(UnitError):
    """An amount cannot be converted to a data set's declared unit (e.g. missing density)."""


class UnknownEPDError(MpeilError, KeyError):
    """A product reference names no data set in the library."""

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return MpeilError.__str__(self)


class UnknownMethodError(MpeilError, KeyError):
    """A scoring method name or file that does not exist."""

    def __str__(self) -> str:
        return MpeilError.__str__(self)


class UnknownScenarioError(MpeilError, KeyError):
    """A transport, end-of-life or service-life scenario that does not exist."""

    def __str__(self) -> str:
        return MpeilError.__str__(self)


class MethodError(MpeilError, ValueError):
    """A method definition is invalid, or cannot be applied to the data."""


class CircularityError(InputError):
    """Inconsistent reuse or recycling input (route shares, cycles, donor references)."""


class ImplausibleResultError(InputError):
    """A result no building can have (``data/result_bounds.csv``, a negative embodied score, a lost
    NaN): the inputs, method or data sets combine into an implausible score (:mod:`mpeil.plausibility`)."""


class BudgetError(InputError):
    """Scoring one input went over its time or memory budget (``seconds_per_file``, ``memory_per_file``
    in ``data/batch_limits.csv``; :mod:`mpeil.budget`), or its process died."""

    @classmethod
    def of(cls, status: str, seconds: float, memory_bytes: int, file: str | None) -> BudgetError:
        """The error of a budgeted call that ended with ``status`` (timeout, memory, died)."""
        if status == "timeout":
            return cls(
                f"scoring took longer than {seconds:g} s (seconds_per_file)", file=file, field="seconds_per_file"
            )
        if status == "memory":
            return cls(
                f"scoring needed more than {memory_bytes / (1 << 30):.3g} GiB (memory_per_file)",
                file=file,
                field="memory_per_file",
            )
        return cls("the scoring process died (out of memory?)", file=file, field="memory_per_file")


class DuplicateBuildingError(InputError):
    """Two buildings in one call (one scoring call, one comparison, one batch chunk) share an id."""


class UnknownBuildingError(MpeilError, KeyError):
    """A building id that is not in the result asked about."""

    def __str__(self) -> str:
        return MpeilError.__str__(self)


class MissingDependencyError(MpeilError, ImportError):
    """An optional library a feature needs is not installed (ifcopenshell for ``.ifc``, matplotlib)."""


class OutputError(MpeilError, OSError):
    """An output file cannot be written: its folder does not exist, or it is a folder."""


def missing_dependency(feature: str, module: str, extra: str, **where: Any) -> MissingDependencyError:
    """``reading IFC needs ifcopenshell: pip install 'mpeil[ifc]'`` (``where``: file, building, …)."""
    return MissingDependencyError(f"{feature} needs {module}: pip install 'mpeil[{extra}]'", **where)


class MpeilWarning(UserWarning):
    """A note about a result that is still computed (e.g. part of an IFC model maps to no data set).

    ``file`` names the input the note is about, so that a command line can print it as one line.
    """

    def __init__(self, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file

    def __str__(self) -> str:
        return f"{self.file}: {self.message}" if self.file else self.message


class UnmappedMaterialWarning(MpeilWarning):
    """Materials of an IFC model that map to no data set: the score leaves them out."""
