"""Synthetic building stocks: reproducible, realistic buildings generated from archetypes.

For benchmarks, batch tests and stock-level studies where no real permit data is at hand.
Everything a building is made of is *data* in ``scenarios/archetypes/`` (see its README):

- one TOML file per archetype (``terraced``, ``semi-detached``, ``detached``, ``apartment``,
  ``office``): ranges of gross floor area, storeys and construction year, the construction types
  with their probabilities (masonry, timber frame, concrete, …) and the elements with a quantity
  range per m² of GFA (or of footprint, or per building) and the layer recipe per construction type;
- ``recipes.csv``: the layer recipes, one row per line and option, referencing shipped
  ÖKOBAUDAT 2024-I generic data sets (``obd2024:<UUID>``) with an amount range, unit, service-life
  category, waste category and, where it differs from the archetype's, a transport scenario.

Randomness is counter-based: every draw is a hash of ``(seed, building number, stream)``, so
building *i* of a seed is the same whatever ``n`` is and wherever a chunk starts
(``generate_stock(10, seed, start=5)`` is rows 5-14 of ``generate_stock(15, seed)``). Lines that
share a ``choice`` key in the recipes pick the same option within a building (e.g. the same floor
finish in every floor, the same window material for frames and sashes), and lines that share a
``size`` key draw the same position in their amount range (e.g. studs and the insulation between
them).

Generation is vectorised numpy: the archetypes are expanded once into templates per (archetype,
construction, storeys), and a stock is a few gathers over those templates.

>>> from mpeil.synthetic import generate_stock
>>> frame = generate_stock(1000, seed=1)          # doctest: +SKIP
>>> mpeil.score(frame, method="gwp").scores       # doctest: +SKIP
"""

from .archetypes import BASES, Archetype, ElementSpec, load_archetypes, load_recipes
from .files import generate_buildings, iter_stock, write_stock
from .generate import generate_stock, stock_columns

__all__ = [
    "BASES",
    "Archetype",
    "ElementSpec",
    "load_archetypes",
    "load_recipes",
    "stock_columns",
    "generate_stock",
    "generate_buildings",
    "write_stock",
    "iter_stock",
]
