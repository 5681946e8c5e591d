"""The ``mpeil`` command line. Each command group lives in its own module.

``app`` (every command) is built on first use. ``mpeil score …``, the command a permit authority
runs once per file, goes through an app of the ``score`` and ``methods`` commands only
(:func:`main`): the other thirteen command modules are neither imported nor turned into click
commands, which is about a tenth of a cold ``mpeil score one.json``. Both apps have the same
name, callback and options, so ``mpeil score`` parses, helps and fails the same way in each.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import os
import sys
from typing import Annotated, Any, NoReturn

import typer

from . import score as _score

#: the commands :func:`main` serves without building the whole app (all defined in ``score.py``)
_SCORE_COMMANDS = ("score", "methods")


def _print_version(asked: bool) -> None:
    if asked:
        from .. import __version__

        typer.echo(f"mpeil {__version__}")
        raise typer.Exit()


def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Score buildings with the Flemish M-peil (TOTEM-like) and other methods."""


def _new_app(with_score: bool = True) -> typer.Typer:
    """An ``mpeil`` app with its callback (and the ``score`` and ``methods`` commands)."""
    new = typer.Typer(
        name="mpeil",
        help="Score buildings with the Flemish M-peil (TOTEM-like) and other methods.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    new.callback()(_options)
    if with_score:
        _score.register(new)
    return new


@functools.cache
def full_app() -> typer.Typer:
    """The ``mpeil`` app with every command (built once, on first use)."""
    from . import batch as _batch
    from . import dataset as _dataset
    from . import elements as _elements
    from . import epd as _epd
    from . import epd_import as _epd_import
    from . import ifc as _ifc
    from . import model as _model
    from . import passport as _passport
    from . import report as _report
    from . import serve as _serve
    from . import stock as _stock
    from . import uncertainty as _uncertainty

    full = _new_app(with_score=False)
    _epd_import.register(_epd.app)
    full.add_typer(_epd.app, name="epd", help="Look at the EPD library and import your own.")
    full.add_typer(_elements.app, name="elements", help="The element catalogue: templates of build-ups.")
    _model.register(full)
    _score.register(full)
    _report.register(full)
    _batch.register(full)
    _stock.register(full)
    _passport.register(full)
    _dataset.register(full)
    _uncertainty.register(full)
    _ifc.register(full)
    _serve.register(full)
    return full


def __getattr__(name: str) -> Any:
    if name == "app":  # ``from mpeil.cli import app``: the whole command line
        return full_app()
    raise AttributeError(f"module 'mpeil.cli' has no attribute {name!r}")


def main() -> None:  # pragma: no cover - entry point
    """The ``mpeil`` script: ``score`` and ``methods`` through the small app, anything else the full one."""
    if len(sys.argv) > 1 and sys.argv[1] in _SCORE_COMMANDS:
        _one_blas_thread()
        # no cyclic collection while the scorer starts (``score`` turns it back on: _resume_collection)
        gc.disable()
        try:
            _new_app()()
        except SystemExit as done:
            _exit_now(done.code)
    else:
        full_app()()


def _one_blas_thread() -> None:
    """One OpenBLAS thread for ``score`` / ``methods``, unless the user chose otherwise.

    numpy and scipy each start an OpenBLAS thread pool when imported (one thread per core), which
    costs about 0.05 s CPU each on a cold start; scoring does no large dense linear algebra (its
    products are sparse, and its few dense ones are small), so one thread loses nothing. Set before
    numpy is imported, and only then: the variable is read once, at load time.
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _exit_now(code: object) -> NoReturn:
    """End ``mpeil score`` / ``methods`` with the status ``sys.exit(code)`` gives, without the
    interpreter's tear-down.

    At exit Python frees every module and object one by one (numpy, pandas, pyarrow, the stored
    library: about 0.1 s CPU of a cold ``mpeil score one.json``) just before the operating system
    drops the whole process anyway. The exit handlers still run (``atexit``: logging's flush,
    coverage in tests, pyarrow's finaliser) and the output is flushed; then the process ends.
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed, status 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # a closed pipe (``| head``) or a closed stream: nothing to flush into
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
