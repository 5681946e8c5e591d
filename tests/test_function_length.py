"""No function in ``compile/``, ``engine/``, ``batch/`` or ``synthetic/`` is longer than 80 lines (issues 9, 20).

A function's length here is its code: from the first statement after the signature and the
docstring to its last line (a long parameter list or a documented one does not count against
it; nested functions count in their parent too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import mpeil

LIMIT = 80
PACKAGES = ("compile", "engine", "batch", "synthetic")


def _code_length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if not body:
        return 0
    return (node.end_lineno or body[-1].lineno) - body[0].lineno + 1


def long_functions(root: Path, packages=PACKAGES, limit: int = LIMIT) -> list[str]:
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_length(node) > limit:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({_code_length(node)} lines)")
    return found


def test_the_checker_measures_code_lines():
    source = 'def f(\n    a,\n    b,\n):\n    """Doc.\n\n    More.\n    """\n    x = 1\n    return x\n'
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    assert _code_length(node) == 2  # two statements, signature and docstring left out


def test_no_long_functions_in_compile_engine_batch():
    assert long_functions(Path(mpeil.__file__).parent) == []
