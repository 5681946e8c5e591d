"""MkDocs hooks: pages generated from the code, so they cannot drift from it.

``<!-- mpeil:cli -->`` becomes the reference of every ``mpeil`` command (from the Typer app);
``<!-- mpeil:building-fields -->`` the fields of a building file (from the pydantic model).
"""

from __future__ import annotations


def on_page_markdown(markdown: str, page, config, files) -> str:
    if "<!-- mpeil:cli -->" in markdown:
        markdown = markdown.replace("<!-- mpeil:cli -->", cli_reference())
    if "<!-- mpeil:building-fields -->" in markdown:
        markdown = markdown.replace("<!-- mpeil:building-fields -->", building_fields())
    return markdown


def cli_reference() -> str:
    """One section per command, with its help text and a table of its arguments and options."""
    import typer

    from mpeil.cli import app

    parts: list[str] = []
    _command_sections(typer.main.get_command(app), "mpeil", parts)
    return "\n".join(parts)


def _command_sections(command, path: str, parts: list[str]) -> None:
    # Typer vendors its own click, so commands are told apart by shape, not by class
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            _command_sections(sub, f"{path} {name}", parts)
        return
    params = [p for p in command.params if p.name != "help" and not getattr(p, "hidden", False)]
    hints = _annotations(command.callback)
    arguments = [p for p in params if p.param_type_name == "argument"]
    usage = [path, "[OPTIONS]", *((p.name or "").upper() + ("..." if p.nargs == -1 else "") for p in arguments)]
    parts.append(f"## `{path}`\n")
    parts.append(f"```text\n{' '.join(usage)}\n```\n")
    if command.help:
        parts.append(_text(command.help) + "\n")
    if params:
        parts.append("| argument / option | type | default | description |\n|---|---|---|---|")
        parts.extend(_param_row(p, hints.get(p.name or "", "")) for p in params)
        parts.append("")


def _annotations(callback) -> dict[str, str]:
    """Parameter name → the Python type of the command function, without ``Annotated`` metadata."""
    import typing

    hints = typing.get_type_hints(callback) if callback else {}
    return {name: _type_name(hint) for name, hint in hints.items() if name != "return"}


def _type_name(hint) -> str:
    import typing

    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    text = getattr(hint, "__name__", None) if not typing.get_args(hint) else None
    text = text or str(hint)
    return text.replace("typing.", "").replace("pathlib.", "").replace("NoneType", "None")


def _text(help_text: str) -> str:
    """Typer help keeps single newlines as line breaks in the terminal; in Markdown, paragraphs."""
    paragraphs = [" ".join(p.split()) for p in help_text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _param_row(param, type_name: str) -> str:
    if param.param_type_name == "option":
        names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        default = param.default
        hide = default is None or (getattr(param, "is_flag", False) and default is False) or callable(default)
        default_text = "" if hide else f"`{default}`"
    else:
        names = f"`{(param.name or '').upper()}`" + ("..." if param.nargs == -1 else "")
        default_text = ""
    required = " (required)" if param.required else ""
    help_text = getattr(param, "help", None) or ""
    return f"| {names}{required} | {_cell(type_name)} | {_cell(default_text)} | {_cell(help_text)} |"


def building_fields() -> str:
    """A table per model class: field, type, required or default, description."""
    from mpeil.model.building import Building, Element, EndOfLifeShares, Layer, OperationalEnergy

    parts = []
    for model in (Building, Element, Layer, EndOfLifeShares, OperationalEnergy):
        parts.append(f"### `{model.__name__}`\n")
        parts.append("| field | type | required / default | description |\n|---|---|---|---|")
        for name, field in model.model_fields.items():
            default = "required" if field.is_required() else _default_text(field.get_default(call_default_factory=True))
            parts.append(
                f"| `{name}` | {_cell(_field_type(field.annotation))} | {_cell(default)} | {_cell(field.description or '')} |"
            )
        parts.append("")
    return "\n".join(parts)


def _field_type(hint) -> str:
    """A readable type: ``Annotated`` stripped, enums and literals as their values."""
    import enum
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return _field_type(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_field_type(a) for a in args)
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_field_type(a) for a in args)}]"
    if hint is type(None):
        return "null"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in hint)
    return getattr(hint, "__name__", str(hint))


def _default_text(value) -> str:
    import enum

    return f"`{value.value!r}`" if isinstance(value, enum.Enum) else f"`{value!r}`"
