"""The ``mpeil`` command line. Each command group lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from . import batch as _batch
from . import dataset as _dataset
from . import elements as _elements
from . import epd as _epd
from . import epd_import as _epd_import
from . import ifc as _ifc
from . import model as _model
from . import passport as _passport
from . import report as _report
from . import score as _score
from . import serve as _serve
from . import stock as _stock
from . import uncertainty as _uncertainty

app = typer.Typer(
    name="mpeil",
    help="Score buildings with the Flemish M-peil (TOTEM-like) and other methods.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        from .. import __version__

        typer.echo(f"mpeil {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Score buildings with the Flemish M-peil (TOTEM-like) and other methods."""


_epd_import.register(_epd.app)
app.add_typer(_epd.app, name="epd", help="Look at the EPD library and import your own.")
app.add_typer(_elements.app, name="elements", help="The element catalogue: templates of build-ups.")
_model.register(app)
_score.register(app)
_report.register(app)
_batch.register(app)
_stock.register(app)
_passport.register(app)
_dataset.register(app)
_uncertainty.register(app)
_ifc.register(app)
_serve.register(app)


def main() -> None:  # pragma: no cover - entry point
    app()
