"""Find EPD data sets the way a Flemish designer asks for them: ranked, fuzzy, in Dutch or French too.

:func:`search_epd` scores every data set of a library against the query and against the German and
English equivalents the glossary (``data/glossary.csv``) gives for it, with rapidfuzz, over the
names (German, English, Danish) and the category. It ranks the method's preferred source first
(``data/search.toml``) and generic data before product-specific data, and shows per hit the
GWP A1-A3 per declared unit and per kg, the density and any quality flag of the library.
"""

from __future__ import annotations

import math
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UnknownEPDError
from .model.library import EPDLibrary, load_library
from .paths import data_dir

__all__ = ["SEARCH_COLUMNS", "Expansion", "Settings", "load_settings", "load_glossary", "expand_query", "search_epd"]

#: columns of the frame :func:`search_epd` returns, in order
SEARCH_COLUMNS = (
    "dataset_id",
    "name",
    "source",
    "data_type",
    "standard",
    "category",
    "score",
    "matched",
    "gwp_a1a3_per_unit",
    "declared_unit",
    "gwp_a1a3_per_kg",
    "density_kg_m3",
    "flags",
)
_NAME_FIELDS = ("name_en", "name_de", "name_da")
_GENERIC_TYPES = frozenset({"generic", "average", "representative"})
_GWP_CODES = ("GWP-total", "GWP-A1")  # EN 15804+A2 total, else the EN 15804+A1 indicator


@dataclass(frozen=True)
class Settings:
    """Ranking settings from ``data/search.toml`` (each explained there)."""

    token_set_share: float
    category_weight: float
    min_score: float
    glossary_cutoff: float
    source_bonus: tuple[float, ...]
    generic_bonus: float
    sources: dict[str, list[str]]


def load_settings(path: str | Path | None = None) -> Settings:
    """Read ``data/search.toml`` (or another file of the same shape)."""
    path = Path(path) if path else data_dir() / "search.toml"
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return Settings(
        token_set_share=float(data["token_set_share"]),
        category_weight=float(data["category_weight"]),
        min_score=float(data["min_score"]),
        glossary_cutoff=float(data["glossary_cutoff"]),
        source_bonus=tuple(float(v) for v in data["source_bonus"]),
        generic_bonus=float(data["generic_bonus"]),
        sources={str(k): [str(s) for s in v] for k, v in data["sources"].items()},
    )


@dataclass(frozen=True)
class Expansion:
    """One text the query is matched as, with its weight (0-1) and where it came from."""

    text: str
    weight: float
    why: str


def _fold(text: str) -> str:
    """Lower case, accents stripped, punctuation to spaces: 'Dämmung' and 'dammung' compare equal."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in plain).split())


def load_glossary(path: str | Path | None = None) -> pd.DataFrame:
    """The glossary: one row per term (term, language, concept, de, en, source); ``|`` separates alternatives."""
    path = Path(path) if path else data_dir() / "glossary.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    missing = {"term", "language", "concept", "de", "en"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: glossary lacks column(s) {sorted(missing)}")
    return frame.assign(folded=frame["term"].map(_fold))


def expand_query(query: str, glossary: pd.DataFrame | None = None, cutoff: float | None = None) -> list[Expansion]:
    """The query itself plus the German and English equivalents of the glossary terms it matches.

    ``cutoff`` (rapidfuzz ratio, 0-100) defaults to ``glossary_cutoff`` of ``data/search.toml``.
    """
    from rapidfuzz import fuzz, process

    glossary = load_glossary() if glossary is None else glossary
    cutoff = load_settings().glossary_cutoff if cutoff is None else cutoff
    folded = _fold(query)
    out = [Expansion(folded, 1.0, "query")]
    if not folded:
        return out
    hits = process.extract(folded, glossary["folded"].tolist(), scorer=fuzz.ratio, score_cutoff=cutoff, limit=None)
    seen = {folded}
    for _term, similarity, row in sorted(hits, key=lambda hit: -hit[1]):
        entry = glossary.iloc[row]
        weight = 1.0 if similarity >= 99.9 else similarity / 100.0
        for column in ("de", "en"):
            for alternative in str(entry[column]).split("|"):
                text = _fold(alternative)
                if text and text not in seen:
                    seen.add(text)
                    out.append(Expansion(text, weight, f"{entry['term']} ({entry['language']}) → {alternative}"))
    return out


def _choices(library: EPDLibrary, category_weight: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Folded names and categories of every data set, their data set rows and field weights (memoised)."""

    def compute():
        texts: list[str] = []
        rows: list[int] = []
        weights: list[float] = []
        datasets = library.datasets
        for field, weight in [(f, 1.0) for f in _NAME_FIELDS] + [("category", category_weight)]:
            if field not in datasets:
                continue
            for row, value in enumerate(datasets[field].tolist()):
                if isinstance(value, str) and value.strip():
                    texts.append(_fold(value))
                    rows.append(row)
                    weights.append(weight)
        return texts, np.asarray(rows, dtype=np.int64), np.asarray(weights, dtype=np.float64)

    return library.memo(("search_choices", category_weight), compute)


def _match_scores(
    library: EPDLibrary, expansions: list[Expansion], settings: Settings
) -> tuple[np.ndarray, np.ndarray]:
    """Best score (0-100) per data set and the index of the expansion that gave it."""
    from rapidfuzz import fuzz, process

    texts, rows, field_weight = _choices(library, settings.category_weight)
    queries = [e.text for e in expansions]
    # token_set rewards "every query word is in the name"; ratio breaks ties towards the closest name
    token_set = process.cdist(queries, texts, scorer=fuzz.token_set_ratio, dtype=np.float64, workers=1)
    whole = process.cdist(queries, texts, scorer=fuzz.ratio, dtype=np.float64, workers=1)
    share = settings.token_set_share
    combined = (share * token_set + (1.0 - share) * whole) * field_weight[None, :]
    combined *= np.asarray([e.weight for e in expansions], dtype=np.float64)[:, None]
    best_query = combined.argmax(axis=0)
    best_per_text = combined.max(axis=0)
    n = len(library.datasets)
    score = np.zeros(n, dtype=np.float64)
    which = np.zeros(n, dtype=np.int64)
    # a data set has several texts (names, category): keep its best one
    order = np.lexsort((-best_per_text, rows))  # by data set, best text first
    first = order[np.unique(rows[order], return_index=True)[1]]
    score[rows[first]] = best_per_text[first]
    which[rows[first]] = best_query[first]
    return score, which


def _source_bonus(settings: Settings, method: str | None, sources: pd.Series) -> np.ndarray:
    """Bonus per data set for the method's preferred sources (first, second, …)."""
    preferred = settings.sources.get(method or "", settings.sources.get("*", []))
    bonus = {source: settings.source_bonus[i] for i, source in enumerate(preferred[: len(settings.source_bonus)])}
    return np.array([bonus.get(s, 0.0) for s in sources], dtype=np.float64)


def _gwp_a1a3(library: EPDLibrary) -> pd.Series:
    """GWP A1-A3 per one declared unit, per data set id (A1-A3 declared, else A1+A2+A3; NaN if neither)."""

    def compute() -> pd.Series:
        values = library.values
        gwp = values[values["indicator"].isin(_GWP_CODES) & values["module"].isin(["A1-A3", "A1", "A2", "A3"])]
        gwp = gwp[gwp["scenario"].fillna("") == ""] if "scenario" in gwp else gwp
        # one GWP code per data set: GWP-total wins over GWP-A1
        code_rank = gwp["indicator"].map({code: i for i, code in enumerate(_GWP_CODES)})
        gwp = gwp.assign(code_rank=code_rank)
        gwp = gwp[gwp["code_rank"] == gwp.groupby("dataset_id")["code_rank"].transform("min")]
        aggregate = gwp[gwp["module"] == "A1-A3"].groupby("dataset_id")["value"].sum()
        parts = gwp[gwp["module"] != "A1-A3"].groupby("dataset_id")["value"].sum(min_count=1)
        total = aggregate.combine_first(parts).astype("float64")
        amount = library.datasets.set_index("dataset_id")["declared_amount"].astype("float64")
        return (total / amount.reindex(total.index)).astype("float64")

    return library.memo(("search_gwp",), compute)


def _flags_of(library: EPDLibrary, ids: list[str]) -> list[str]:
    flags = getattr(library, "flags", None)  # issue 8 adds library.flags; absent → no flags
    if not isinstance(flags, pd.DataFrame) or flags.empty or "dataset_id" not in flags:
        return [""] * len(ids)
    column = "flag" if "flag" in flags else flags.columns[-1]
    flags = flags[flags["dataset_id"].isin(ids)]
    if "indicator" in flags:  # issue 8: name the indicator with the kind, e.g. "ADPE outlier"
        flags = flags.assign(**{column: (flags["indicator"].fillna("") + " " + flags[column].astype(str)).str.strip()})
    grouped = flags.groupby("dataset_id")[column]
    text = grouped.apply(lambda s: "; ".join(dict.fromkeys(str(v) for v in s)))
    return [str(text.get(i, "")) for i in ids]


def search_epd(
    query: str,
    library: EPDLibrary | None = None,
    method: str | None = None,
    limit: int = 10,
    sources: list[str] | None = None,
    glossary: pd.DataFrame | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Data sets ranked by how well they match ``query`` (any of nl/fr/de/en/da), best first.

    ``method`` chooses which source is preferred (``data/search.toml``); ``sources`` keeps
    only those sources; ``settings`` replaces ``data/search.toml``. Columns: :data:`SEARCH_COLUMNS`. ``score`` is the rapidfuzz similarity
    (0-100) plus the source and generic-data bonus; ``matched`` says which text matched.
    ``gwp_a1a3_per_unit`` is in kg CO2e per one ``declared_unit``, ``gwp_a1a3_per_kg`` in kg CO2e/kg
    and ``density_kg_m3`` in kg/m³ (NaN where the data set does not say).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    library = load_library() if library is None else library
    unknown = sorted(set(sources or ()) - set(library.datasets["source"]))
    if unknown:
        available = sorted(set(library.datasets["source"]))
        raise UnknownEPDError(f"unknown EPD source(s) {unknown}; available: {available}", field="source")
    settings = load_settings() if settings is None else settings
    expansions = expand_query(query, glossary, settings.glossary_cutoff)
    if not expansions[0].text:
        return pd.DataFrame(columns=list(SEARCH_COLUMNS))
    score, which = _match_scores(library, expansions, settings)
    datasets = library.datasets
    bonus = _source_bonus(settings, method, datasets["source"])
    bonus += np.where(datasets["data_type"].isin(_GENERIC_TYPES).to_numpy(dtype=bool), settings.generic_bonus, 0.0)
    keep = score >= settings.min_score
    if sources:
        keep &= datasets["source"].isin(sources).to_numpy(dtype=bool)
    candidates = np.flatnonzero(keep)
    final = score[candidates] + bonus[candidates]
    top = candidates[np.argsort(-final, kind="stable")][:limit]
    return _hits_frame(library, top, score + bonus, which, expansions)


def _hits_frame(
    library: EPDLibrary, rows: np.ndarray, score: np.ndarray, which: np.ndarray, expansions: list[Expansion]
) -> pd.DataFrame:
    datasets = library.datasets.iloc[rows]
    ids = datasets["dataset_id"].tolist()
    gwp = _gwp_a1a3(library).reindex(ids).to_numpy(dtype=np.float64)
    kg_per_unit = np.asarray([library.mass_per_unit(int(r)) for r in rows], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_kg = np.where(kg_per_unit > 0, gwp / kg_per_unit, np.nan)
    density = datasets["gross_density_kg_m3"].astype("float64").to_numpy()
    density = np.where(np.isnan(density), datasets["bulk_density_kg_m3"].astype("float64").to_numpy(), density)
    name_fields = [f for f in _NAME_FIELDS if f in datasets]
    names = [_first_name(record) for record in datasets[name_fields].to_dict("records")]
    frame = pd.DataFrame(
        {
            "dataset_id": ids,
            "name": names,
            "source": datasets["source"].tolist(),
            "data_type": datasets["data_type"].tolist(),
            "standard": datasets["standard"].tolist(),
            "category": datasets["category"].tolist(),
            "score": np.round(score[rows], 1),
            "matched": [expansions[int(which[r])].why for r in rows],
            "gwp_a1a3_per_unit": gwp,
            "declared_unit": [
                _unit_text(a, u) for a, u in zip(datasets["declared_amount"], datasets["declared_unit"], strict=True)
            ],
            "gwp_a1a3_per_kg": per_kg,
            "density_kg_m3": density,
            "flags": _flags_of(library, ids),
        }
    )
    return frame.reset_index(drop=True)


def _first_name(record: dict) -> str:
    for field in _NAME_FIELDS:
        value = record.get(field)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _unit_text(amount, unit) -> str:
    if not isinstance(unit, str) or not unit:
        return ""
    amount = float(amount) if amount is not None and not pd.isna(amount) else math.nan
    return unit if amount == 1.0 or math.isnan(amount) else f"{amount:g} {unit}"
