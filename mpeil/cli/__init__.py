"""The ``mpeil`` command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from . import batch as _batch
from . import dataset as _dataset
from . import elements as _elements
from . import epd as _epd
from . import ifc as _ifc
from . import model as _model
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
app.add_typer(_epd.app, name="epd", help="Look at the EPD library.")
app.add_typer(_elements.app, name="elements", help="The element catalogue: templates of build-ups.")
_model.register(app)
_score.register(app)
_report.register(app)
_batch.register(app)
_stock.register(app)
_dataset.register(app)
_uncertainty.register(app)
_ifc.register(app)
_serve.register(app)


def main() -> None:  # pragma: no cover - entry point
    app()
