"""Element templates: parametrised build-ups kept as data (``scenarios/elements/*.toml``), TOTEM's way.

A template names an element type and unit, its parameters (numbers with a unit and bounds, choices
that fill several layer fields at once, yes/no switches) and its layer lines. A layer field may be

- a literal (``amount = 0.09``),
- a reference to a parameter (``amount = "{insulation_thickness_m}"``) or to a field of a chosen
  option (``product = "{insulation.product}"``),
- arithmetic on numbers and numeric parameters (``amount = "2 * ({width_m} + {height_m})"``), or
- text with references in it (``name = "{insulation.name}, {insulation_thickness_m} m"``).

A layer with ``when = "param"`` (a switch) or ``when = "param=option"`` is kept only then.
``[defaults]`` fills fields every layer leaves out (e.g. the transport scenario).
:func:`expand` turns a template and parameters into an :class:`~mpeil.model.Element`; readers
call :func:`element_data` while reading a building file, before anything is compiled.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import InputError, UnknownScenarioError
from ..paths import scenarios_dir
from .building import Element

__all__ = ["Template", "Parameter", "templates_dir", "template_names", "load_template", "element_data", "expand"]

_REFERENCE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}")
_WHOLE_REFERENCE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}$")
#: a template name: the stem of a file of the catalogue (never a path)
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_TEMPLATE_NAME = 64
_TRUE = {"true", "yes", "1", "ja", "oui"}
_FALSE = {"false", "no", "0", "nee", "non"}
_OPERATORS: dict[type, Callable[..., float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


@dataclass(frozen=True)
class Parameter:
    """One template parameter: a number (with unit and bounds), a choice, or a yes/no switch."""

    name: str
    kind: str  # "number" | "choice" | "switch"
    default: Any
    description: str = ""
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: Mapping[str, Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class Template:
    """A parsed template file."""

    name: str
    title: str
    element_type: str
    unit: str
    description: str
    sources: tuple[str, ...]
    parameters: Mapping[str, Parameter]
    layers: tuple[Mapping[str, Any], ...]
    defaults: Mapping[str, Any]
    path: str


def templates_dir() -> Path:
    """The shipped template folder, ``scenarios/elements``."""
    return scenarios_dir() / "elements"


def template_names(folder: Path | None = None) -> list[str]:
    """Names of all templates in ``folder`` (default: the shipped ones), sorted."""
    folder = Path(folder) if folder else templates_dir()
    return sorted(p.stem for p in folder.glob("*.toml"))


def load_template(name: str, folder: Path | None = None) -> Template:
    """Read and check one template of the catalogue, by name; unknown names get did-you-mean suggestions.

    A name is looked up among :func:`template_names` only, never used as a path: ``../../pyproject``
    or an absolute name is an unknown template, and no message shows where the catalogue is installed
    (a shipped template is named ``scenarios/elements/<name>.toml``).
    """
    shipped = not folder
    folder = Path(folder) if folder else templates_dir()
    name = str(name)
    if len(name) > MAX_TEMPLATE_NAME or not _TEMPLATE_NAME.fullmatch(name):
        shown = repr(name) if len(name) <= 40 else repr(name[:37]) + "…"
        raise InputError(
            f"template name {shown} ({len(name)} characters) is not a template name: letters, digits, '.', '_' "
            f"and '-', at most {MAX_TEMPLATE_NAME} characters (see `mpeil elements list`)",
            field="template",
        )
    names = template_names(folder)
    if name not in names:
        import difflib

        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownScenarioError(f"no element template {name!r}{hint} (see `mpeil elements list`)", field="template")
    path = folder / f"{name}.toml"
    label = f"scenarios/elements/{name}.toml" if shipped else str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed template: {exc}", file=label) from None
    return _template_from_toml(name, data, label)


def _template_from_toml(name: str, data: dict, path: str) -> Template:
    for key in ("title", "element_type", "unit", "layers"):
        if key not in data:
            raise InputError(f"template {name!r} lacks {key!r}", file=path, field=key)
    parameters = {key: _parameter(key, spec, path) for key, spec in data.get("params", {}).items()}
    return Template(
        name=name,
        title=str(data["title"]),
        element_type=str(data["element_type"]),
        unit=str(data["unit"]),
        description=str(data.get("description", "")),
        sources=tuple(str(s) for s in data.get("sources", [])),
        parameters=parameters,
        layers=tuple(dict(layer) for layer in data["layers"]),
        defaults=dict(data.get("defaults", {})),
        path=path,
    )


def _parameter(name: str, spec: dict, path: str) -> Parameter:
    if "default" not in spec:
        raise InputError(f"parameter {name!r} has no default", file=path, field=f"params.{name}")
    choices = spec.get("choices")
    default = spec["default"]
    if choices is not None:
        if default not in choices:
            raise InputError(f"default {default!r} of {name!r} is not one of its choices", file=path)
        kind = "choice"
    elif isinstance(default, bool):
        kind = "switch"
    elif isinstance(default, (int, float)):
        kind = "number"
    else:
        raise InputError(f"parameter {name!r}: default must be a number, true/false or a choice", file=path)
    return Parameter(
        name=name,
        kind=kind,
        default=float(default) if kind == "number" else default,
        description=str(spec.get("description", "")),
        unit=str(spec.get("unit", "")),
        minimum=spec.get("min"),
        maximum=spec.get("max"),
        choices=choices,
    )


def resolve_params(template: Template, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every parameter's value: the given one (checked, text converted) or the default."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(template.parameters))
    if unknown:
        known = ", ".join(template.parameters) or "none"
        raise InputError(f"template {template.name!r} has no parameter(s) {unknown}; it has: {known}", field="params")
    return {
        name: _value(template, p, given[name]) if name in given else p.default
        for name, p in template.parameters.items()
    }


def _value(template: Template, parameter: Parameter, raw: Any) -> Any:
    where = f"template {template.name!r}, parameter {parameter.name!r}"
    if parameter.kind == "choice":
        assert parameter.choices is not None
        if str(raw) in parameter.choices:
            return str(raw)
        # choices are words: 'PIR' is 'pir', unless two choices differ only in case
        same = [c for c in parameter.choices if c.casefold() == str(raw).strip().casefold()]
        if len(same) != 1:
            raise InputError(f"{where}: {raw!r} is not one of {list(parameter.choices)}", field="params")
        return same[0]
    if parameter.kind == "switch":
        text = str(raw).strip().lower()
        if isinstance(raw, bool):
            return raw
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise InputError(f"{where}: {raw!r} is not true or false", field="params")
    try:
        number = float(raw.replace(",", ".") if isinstance(raw, str) else raw)  # a decimal comma from a ;-CSV
    except (TypeError, ValueError):
        raise InputError(f"{where}: {raw!r} is not a number ({parameter.unit or 'no unit'})", field="params") from None
    if not math.isfinite(number):
        raise InputError(f"{where}: {raw!r} is not a finite number", field="params")
    low, high = parameter.minimum, parameter.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        raise InputError(f"{where}: {number:g} {parameter.unit} is outside [{low}, {high}]", field="params")
    return number


def element_data(
    name: str,
    params: Mapping[str, Any] | None = None,
    element: Mapping[str, Any] | None = None,
    folder: Path | None = None,
) -> dict[str, Any]:
    """An element as plain data (for ``Element.model_validate``): template layers + the element's own fields.

    ``element`` holds what the building file says about the element (id, quantity, name, …, and
    optionally extra ``layers``, which come after the template's). The template fills
    ``element_type``, ``unit`` and ``name`` where the file leaves them out; the name records the
    template and the parameters, so the expansion stays visible in every output.
    """
    template = load_template(name, folder)
    values = resolve_params(template, params)
    layers = [_layer(template, spec, values) for spec in template.layers if _included(template, spec, values)]
    data = {k: v for k, v in dict(element or {}).items() if k not in ("template", "params")}
    data.setdefault("element_type", template.element_type)
    data.setdefault("unit", template.unit)
    data.setdefault("name", f"{template.title} [{describe(template, values)}]")
    data["layers"] = layers + list(data.get("layers") or [])
    return data


def describe(template: Template, values: Mapping[str, Any]) -> str:
    """``"EW-cavity-brick: insulation=pur, insulation_thickness_m=0.16"`` (only non-default values)."""
    changed = [
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in values.items()
        if v != template.parameters[k].default
    ]
    return template.name + (": " + ", ".join(changed) if changed else "")


def expand(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    id: str | None = None,
    quantity: float = 1.0,
    folder: Path | None = None,
    **element_fields: Any,
) -> Element:
    """The :class:`Element` a template gives for ``params`` (``quantity`` in the template's unit)."""
    data = element_data(name, params, {"id": id or name, "quantity": quantity, **element_fields}, folder)
    try:
        return Element.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or None
        raise InputError(f"template {name!r} expands to an invalid element: {error['msg']}", field=field) from None


def _included(template: Template, spec: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    condition = spec.get("when")
    if condition is None:
        return True
    key, _, option = str(condition).partition("=")
    key, option = key.strip(), option.strip()
    if key not in values:
        raise InputError(f"template {template.name!r}: 'when' names unknown parameter {key!r}", file=template.path)
    return str(values[key]) == option if option else bool(values[key])


def _layer(template: Template, spec: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    line = {**template.defaults, **{k: v for k, v in spec.items() if k != "when"}}
    return {key: _fill(template, value, values) for key, value in line.items()}


def _fill(template: Template, value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(template, v, values) for k, v in value.items()}
    if not isinstance(value, str) or "{" not in value:
        return value
    whole = _WHOLE_REFERENCE.match(value)
    if whole:
        return _lookup(template, whole.group(1), whole.group(2), values)
    text = _REFERENCE.sub(lambda m: _as_text(_lookup(template, m.group(1), m.group(2), values)), value)
    if re.fullmatch(r"[\d\s.+\-*/()eE]+", text):
        return _arithmetic(template, text)
    return text


def _lookup(template: Template, name: str, field: str | None, values: Mapping[str, Any]) -> Any:
    if name not in values:
        raise InputError(f"template {template.name!r} refers to unknown parameter {name!r}", file=template.path)
    value = values[name]
    if field is None:
        return value
    choices = template.parameters[name].choices or {}
    option = choices.get(str(value), {})
    if field not in option:
        raise InputError(
            f"template {template.name!r}: option {value!r} of {name!r} has no field {field!r}", file=template.path
        )
    return option[field]


def _as_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _evaluate(text: str) -> float:
    """``text`` parsed as an expression of numbers, + - * / and parentheses, and evaluated; any other
    node raises ValueError (the callers turn it into their own InputError)."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.operand))
        raise ValueError(type(node).__name__)

    return float(walk(ast.parse(text.strip(), mode="eval")))


def evaluate_arithmetic(text: str) -> float:
    """``text`` of + - * / and parentheses on numbers, evaluated (an InputError otherwise); nothing else runs."""
    if len(text) > 200:
        raise InputError(f"arithmetic of {len(text)} characters (at most 200)")
    try:
        return _evaluate(text)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError, MemoryError) as exc:
        raise InputError(f"cannot evaluate {text!r} ({type(exc).__name__})") from None


def _arithmetic(template: Template, text: str) -> float:
    """+ - * / and parentheses on numbers; nothing else is evaluated."""
    try:
        return _evaluate(text)
    except (SyntaxError, ValueError, ZeroDivisionError) as exc:
        raise InputError(f"template {template.name!r}: cannot evaluate {text!r} ({exc})", file=template.path) from None
