"""Find EPD data sets the way a Flemish designer asks for them: ranked, fuzzy, in Dutch or French too.

:func:`search_epd` scores every data set of a library against the query and against the German and
English equivalents the glossary (``data/glossary.csv``) gives for it, with rapidfuzz, over the
names (German, English, Danish) and the category. It ranks the method's preferred source first
(``data/search.toml``) and generic data before product-specific data, and shows per hit the
GWP A1-A3 per declared unit and per kg, the density and any quality flag of the library.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UnknownEPDError
from .model.library import EPDLibrary, load_library
from .paths import data_dir

__all__ = [
    "SEARCH_COLUMNS",
    "Expansion",
    "Settings",
    "load_settings",
    "load_glossary",
    "expand_query",
    "split_compound",
    "search_epd",
    "candidates",
    "rank",
    "one_per_epd",
]

#: columns of the frame :func:`search_epd` returns, in order
SEARCH_COLUMNS = (
    "dataset_id",
    "name",
    "source",
    "data_type",
    "standard",
    "category",
    "score",
    "weak",
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
    weak_score: float = 75.0
    generic_weight: float = 0.85
    cover_score: float = 70.0
    cover_bonus: float = 6.0
    loose_penalty: float = 8.0
    unknown_weight: float = 0.7
    stopwords: frozenset[str] = frozenset()
    generic_concepts: frozenset[str] = frozenset()
    loose_words: frozenset[str] = frozenset()
    loose_names: tuple[str, ...] = ()
    standards: dict[str, list[str]] = field(default_factory=dict)
    min_part: int = 3


def load_settings(path: str | Path | None = None) -> Settings:
    """Read ``data/search.toml`` (or another file of the same shape)."""
    path = Path(path) if path else data_dir() / "search.toml"
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    words = data.get("words", {})
    return Settings(
        token_set_share=float(data["token_set_share"]),
        category_weight=float(data["category_weight"]),
        min_score=float(data["min_score"]),
        glossary_cutoff=float(data["glossary_cutoff"]),
        source_bonus=tuple(float(v) for v in data["source_bonus"]),
        generic_bonus=float(data["generic_bonus"]),
        sources={str(k): [str(s) for s in v] for k, v in data["sources"].items()},
        weak_score=float(data.get("weak_score", 75.0)),
        generic_weight=float(data.get("generic_weight", 0.85)),
        cover_score=float(data.get("cover_score", 70.0)),
        cover_bonus=float(data.get("cover_bonus", 6.0)),
        loose_penalty=float(data.get("loose_penalty", 8.0)),
        unknown_weight=float(data.get("unknown_weight", 0.7)),
        stopwords=frozenset(_fold(w) for w in words.get("stopwords", [])),
        generic_concepts=frozenset(words.get("generic_concepts", [])),
        loose_words=frozenset(_fold(w) for w in words.get("loose_words", [])),
        loose_names=tuple(_fold(w) for w in words.get("loose_names", [])),
        standards={str(k): [str(s) for s in v] for k, v in data.get("standards", {}).items()},
        min_part=int(data.get("min_part", 3)),
    )


@dataclass(frozen=True)
class Expansion:
    """One text the query is matched as, with its weight (0-1) and where it came from.

    ``group`` names the part of the query it stands for (-1: the query as typed); a data set that
    matches several parts (``pir`` and ``isolatie``) ranks above one that matches one.
    """

    text: str
    weight: float
    why: str
    group: int = -1


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


def _glossary_index(glossary: pd.DataFrame) -> dict[str, list[int]]:
    """Folded term → glossary rows (a term is in the glossary once per language)."""
    index: dict[str, list[int]] = {}
    for row, term in enumerate(glossary["folded"].tolist()):
        index.setdefault(term, []).append(row)
    return index


def _equivalents(glossary: pd.DataFrame, row: int) -> list[str]:
    entry = glossary.iloc[row]
    return [a for column in ("de", "en") for a in str(entry[column]).split("|") if _fold(a)]


def split_compound(word: str, vocabulary: set[str] | dict, min_part: int = 3) -> list[str] | None:
    """A Dutch compound as the fewest known words (``isolatieplaat`` → ``isolatie``, ``plaat``).

    Parts are at least ``min_part`` letters; a linking ``s`` or ``e``/``en`` between parts
    (``rioleringsbuis``, ``zonnepanelen``) is allowed. None when no split covers the whole word.
    """
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(min_part, n + 1):
        for start in range(0, end - min_part + 1):
            part = word[start:end]
            if part not in vocabulary:
                continue
            for link in ("", "s", "e", "en"):
                before = start - len(link)
                if before < 0 or word[before:start] != link or best[before] is None:
                    continue
                if before == 0 and link:
                    continue
                candidate = [*best[before], part]  # type: ignore[misc]
                if best[end] is None or len(candidate) < len(best[end]):  # type: ignore[arg-type]
                    best[end] = candidate
    found = best[n]
    return found if found and len(found) > 1 else None


def _units(tokens: list[str], index: dict[str, list[int]], settings: Settings) -> list[tuple[str, list[int]]]:
    """The query's meaningful parts, longest glossary phrase first, each with its glossary rows:
    ``laine de roche`` stays one part, ``pir isolatieplaat`` gives ``pir``, ``isolatie``, ``plaat``."""
    units: list[tuple[str, list[int]]] = []
    i = 0
    while i < len(tokens):
        for n in range(min(4, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i : i + n])
            if phrase in index and (n > 1 or phrase not in settings.stopwords):
                units.append((phrase, index[phrase]))
                i += n
                break
        else:
            word = tokens[i]
            i += 1
            if word in settings.stopwords:
                continue
            parts = split_compound(word, index, settings.min_part) if len(word) >= 2 * settings.min_part else None
            if parts:
                units.extend((part, index[part]) for part in parts)
            else:
                units.append((word, []))
    return units


def expand_query(
    query: str, glossary: pd.DataFrame | None = None, cutoff: float | None = None, settings: Settings | None = None
) -> list[Expansion]:
    """The query itself, then per part of it (glossary phrase, word or compound part) the part and
    the German and English equivalents the glossary gives for it.

    ``cutoff`` (rapidfuzz ratio, 0-100) defaults to ``glossary_cutoff`` of ``data/search.toml``: a
    part not in the glossary uses the closest term at least this similar (one typo).
    """
    settings = load_settings() if settings is None else settings
    glossary = load_glossary() if glossary is None else glossary
    cutoff = settings.glossary_cutoff if cutoff is None else cutoff
    folded = _fold(query)
    out = [Expansion(folded, 1.0, "query")]
    if not folded:
        return out
    index = _glossary_index(glossary)
    units = _units(folded.split(), index, settings)
    seen = {(folded, -1)}
    for group, (part, rows) in enumerate(units):
        rows, weight = (rows, 1.0) if rows else _closest_terms(part, glossary, cutoff)
        if not rows:  # a word the glossary does not know: it may narrow the search, not lead it
            weight = settings.unknown_weight
        generic = any(glossary.iloc[r]["concept"] in settings.generic_concepts for r in rows)
        weight *= settings.generic_weight if generic else 1.0
        texts = [(part, "query part")] if len(units) > 1 else []
        texts += [
            (_fold(a), f"{glossary.iloc[r]['term']} ({glossary.iloc[r]['language']}) → {a}")
            for r in rows
            for a in _equivalents(glossary, r)
        ]
        for text, why in texts:
            if text and (text, group) not in seen:
                seen.add((text, group))
                out.append(Expansion(text, weight, why, group))
    return out


def _closest_terms(part: str, glossary: pd.DataFrame, cutoff: float) -> tuple[list[int], float]:
    """Glossary rows of the term closest to ``part`` (rapidfuzz ratio ≥ ``cutoff``) and its weight."""
    from rapidfuzz import fuzz, process

    if len(part) < 4:
        return [], 1.0
    hit = process.extractOne(part, glossary["folded"].tolist(), scorer=fuzz.ratio, score_cutoff=cutoff)
    if hit is None:
        return [], 1.0
    term = hit[0]
    rows = [int(r) for r in (glossary["folded"] == term).to_numpy().nonzero()[0]]
    return rows, hit[1] / 100.0


def _choices(library: EPDLibrary, category_weight: float) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Each distinct folded name or category once (many data sets share a category, two sources a
    name), and per (data set, field): its data set row, distinct-text index and field weight
    (memoised per library)."""

    def compute():
        distinct: dict[str, int] = {}
        rows: list[int] = []
        index: list[int] = []
        weights: list[float] = []
        datasets = library.datasets
        for field_name, weight in [(f, 1.0) for f in _NAME_FIELDS] + [("category", category_weight)]:
            if field_name not in datasets:
                continue
            for row, value in enumerate(datasets[field_name].tolist()):
                if isinstance(value, str) and value.strip():
                    index.append(distinct.setdefault(_fold(value), len(distinct)))
                    rows.append(row)
                    weights.append(weight)
        return (
            list(distinct),
            np.asarray(rows, dtype=np.int64),
            np.asarray(index, dtype=np.int64),
            np.asarray(weights, dtype=np.float64),
        )

    return library.memo(("search_choices", category_weight), compute)


def _match_scores(
    library: EPDLibrary, expansions: list[Expansion], settings: Settings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per data set: the best match (0-100), the index of the expansion that gave it, and how many
    parts of the query it matches (a part counts when one of its texts scores ``cover_score``)."""
    from rapidfuzz import fuzz, process

    texts, rows, text_index, field_weight = _choices(library, settings.category_weight)
    queries = [e.text for e in expansions]
    # token_set rewards "every query word is in the name"; ratio breaks ties towards the closest name
    token_set = process.cdist(queries, texts, scorer=fuzz.token_set_ratio, dtype=np.float64, workers=1)
    share = settings.token_set_share
    # a text whose token_set score cannot reach min_score even with a perfect ratio is left out of
    # the second, costlier pass (exact: share·t + (1 − share)·100 < min_score)
    reach = np.flatnonzero(token_set.max(axis=0) >= (settings.min_score - (1.0 - share) * 100.0) / share)
    whole = np.zeros_like(token_set)
    if reach.size:
        chosen = [texts[i] for i in reach]
        whole[:, reach] = process.cdist(queries, chosen, scorer=fuzz.ratio, dtype=np.float64, workers=1)
    distinct = share * token_set + (1.0 - share) * whole  # [E, distinct texts]
    similarity = distinct[:, text_index] * field_weight[None, :]  # [E, (data set, field)]
    n = len(library.datasets)
    per_set = np.zeros((len(expansions), n), dtype=np.float64)  # best text of each data set
    _max_per_set(per_set, similarity, rows)
    weighted = per_set * np.asarray([e.weight for e in expansions], dtype=np.float64)[:, None]
    which = weighted.argmax(axis=0)
    score = weighted.max(axis=0)
    groups = sorted({e.group for e in expansions if e.group >= 0})
    covered = np.zeros(n, dtype=np.int64)
    for group in groups:
        members = [k for k, e in enumerate(expansions) if e.group == group]
        covered += (per_set[members].max(axis=0) >= settings.cover_score).astype(np.int64)
    return score, which, covered + _category_agrees(library, distinct, settings)


def _category_agrees(library: EPDLibrary, distinct: np.ndarray, settings: Settings) -> np.ndarray:
    """1 where the data set's category also matches the query (one of its texts): a mineral wool
    board in "Insulation materials / Mineral wool" before a mineral wool pipe jacket in "Heat
    distribution". Counted as one more part covered."""
    texts = _choices(library, settings.category_weight)[0]
    categories = library.memo(
        ("search_category_index", settings.category_weight),
        lambda: _category_positions(library, texts),
    )
    out = np.zeros(len(library.datasets), dtype=np.int64)
    known = categories >= 0
    agree = distinct[:, categories[known]].max(axis=0) >= settings.cover_score
    out[np.flatnonzero(known)] = agree.astype(np.int64)
    return out


def _category_positions(library: EPDLibrary, texts: list[str]) -> np.ndarray:
    """Per data set, the distinct-text index of its folded category (-1: none)."""
    position = {text: i for i, text in enumerate(texts)}
    categories = library.datasets["category"] if "category" in library.datasets else pd.Series([None] * len(library))
    return np.asarray(
        [position.get(_fold(c), -1) if isinstance(c, str) and c.strip() else -1 for c in categories], dtype=np.int64
    )


def _max_per_set(per_set: np.ndarray, similarity: np.ndarray, rows: np.ndarray) -> None:
    """``per_set[e, d]`` = the best of data set d's texts (names, category) for expansion e."""
    order = np.argsort(rows, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(rows[order]) != 0])
    per_set[:, rows[order][starts]] = np.maximum.reduceat(similarity[:, order], starts, axis=1)


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

    ``method`` chooses which source is preferred and which standards it can score
    (``data/search.toml``): under the EF methods EN 15804+A2 data sets come before EN 15804+A1
    ones. ``sources`` keeps only those sources; ``settings`` replaces ``data/search.toml``.
    Columns: :data:`SEARCH_COLUMNS`. ``score`` is the rapidfuzz similarity (0-100) plus the
    bonuses; ``matched`` says which text matched; ``weak`` marks a hit whose best match is under
    ``weak_score`` (shown, but likely not what was asked). One row per EPD (a data set shipped in
    two sources is listed once). ``gwp_a1a3_per_unit`` is in kg CO2e per one ``declared_unit``,
    ``gwp_a1a3_per_kg`` in kg CO2e/kg and ``density_kg_m3`` in kg/m³ (NaN where not declared).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    library = load_library() if library is None else library
    unknown = sorted(set(sources or ()) - set(library.datasets["source"]))
    if unknown:
        available = sorted(set(library.datasets["source"]))
        raise UnknownEPDError(f"unknown EPD source(s) {unknown}; available: {available}", field="source")
    settings = load_settings() if settings is None else settings
    expansions = expand_query(query, glossary, settings.glossary_cutoff, settings)
    if not expansions[0].text:
        return pd.DataFrame(columns=list(SEARCH_COLUMNS))
    hits = candidates(library, expansions, settings, method, sources)
    top = one_per_epd(rank(hits), library)[:limit]
    return _hits_frame(library, top, hits, expansions)


def candidates(
    library: EPDLibrary,
    expansions: list[Expansion],
    settings: Settings,
    method: str | None = None,
    sources: list[str] | None = None,
) -> pd.DataFrame:
    """Every data set that matches at least ``min_score``, one row each: ``row`` (its position in
    the library), ``similarity`` (0-100), ``score`` (with bonuses and penalties), ``which``
    (expansion index), ``weak`` and ``usable`` (its standard is one ``method`` scores)."""
    similarity, which, covered = _match_scores(library, expansions, settings)
    datasets = library.datasets
    bonus = _source_bonus(settings, method, datasets["source"])
    bonus += np.where(datasets["data_type"].isin(_GENERIC_TYPES).to_numpy(dtype=bool), settings.generic_bonus, 0.0)
    bonus += settings.cover_bonus * np.maximum(covered - 1, 0)
    bonus -= settings.loose_penalty * _loose_fill(library, expansions[0].text, settings)
    keep = similarity >= settings.min_score
    if sources:
        keep &= datasets["source"].isin(sources).to_numpy(dtype=bool)
    rows = np.flatnonzero(keep)
    standards = settings.standards.get(method or "")
    usable = datasets["standard"].isin(standards).to_numpy(dtype=bool) if standards else np.ones(len(datasets), bool)
    return pd.DataFrame(
        {
            "row": rows,
            "similarity": similarity[rows],
            "score": similarity[rows] + bonus[rows],
            "which": which[rows],
            "weak": similarity[rows] < settings.weak_score,
            "usable": usable[rows],
        }
    )


def rank(hits: pd.DataFrame) -> pd.DataFrame:
    """Best first: strong matches before weak ones, then data sets the method can score, then by
    score. Composable: a caller may add a leading key (e.g. user libraries first) and sort again."""
    return hits.sort_values(["weak", "usable", "score"], ascending=[True, False, False], kind="stable")


def one_per_epd(ranked: pd.DataFrame, library: EPDLibrary) -> np.ndarray:
    """Library rows of ``ranked`` with each EPD once: the same source UUID, or the same name and
    declared unit under the same standard, is the same EPD (shipped in two sources, or twice)."""
    datasets = library.datasets.iloc[ranked["row"].to_numpy()]
    names = pd.Series(_folded_names(library)[ranked["row"].to_numpy()], index=datasets.index)
    uuid = datasets["source_uuid"].astype("string").fillna("")
    same_uuid = uuid.ne("") & uuid.duplicated()
    same_name = (
        names.ne("")
        & pd.Series(
            list(
                zip(
                    names,
                    datasets["declared_unit"].astype("string").fillna(""),
                    datasets["standard"].astype("string").fillna(""),
                    strict=True,
                )
            ),
            index=datasets.index,
        ).duplicated()
    )
    # a data set copied into another source under another name (BR18 Tabel 7 rows taken from
    # ÖKOBAUDAT 2020-II): the same standard, unit, GWP A1-A3 and density
    gwp = _gwp_a1a3(library).reindex(datasets["dataset_id"]).to_numpy(dtype=np.float64)
    density = datasets["gross_density_kg_m3"].astype("float64").to_numpy()
    same_values = pd.Series(
        [
            (s, u, float(f"{g:.6g}"), float(f"{d:.6g}")) if np.isfinite(g) and g != 0 and np.isfinite(d) else i
            for s, u, g, d, i in zip(
                datasets["standard"].astype("string").fillna(""),
                datasets["declared_unit"].astype("string").fillna(""),
                gwp,
                density,
                range(len(datasets)),
                strict=True,
            )
        ],
        index=datasets.index,
    ).duplicated()
    return ranked["row"].to_numpy()[~(same_uuid | same_name | same_values).to_numpy()]


def _loose_fill(library: EPDLibrary, query: str, settings: Settings) -> np.ndarray:
    """1.0 for a loose fill or granulate (by its name) when the query names a product, else 0."""
    datasets = library.datasets
    if not settings.loose_names or set(query.split()) & settings.loose_words:
        return np.zeros(len(datasets))
    pattern = "|".join(settings.loose_names)

    def compute() -> np.ndarray:
        names = pd.Series(datasets["name_en"].fillna("") + " " + datasets["name_de"].fillna("")).map(_fold)
        return names.str.contains(rf"\b(?:{pattern})", regex=True).to_numpy(dtype=np.float64)

    return library.memo(("search_loose", pattern), compute)


def _folded_names(library: EPDLibrary) -> np.ndarray:
    """Each data set's English (else German) name, folded (memoised per library)."""
    datasets = library.datasets

    def compute() -> np.ndarray:
        names = datasets["name_en"].fillna(datasets["name_de"]).fillna("")
        return np.asarray([_fold(n) for n in names], dtype=object)

    return library.memo(("search_folded_names",), compute)


def _hits_frame(library: EPDLibrary, rows: np.ndarray, hits: pd.DataFrame, expansions: list[Expansion]) -> pd.DataFrame:
    datasets = library.datasets.iloc[rows]
    ids = datasets["dataset_id"].tolist()
    by_row = hits.set_index("row")
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
            "score": np.round(by_row.loc[rows, "score"].to_numpy(dtype=np.float64), 1),
            "weak": by_row.loc[rows, "weak"].to_numpy(dtype=bool),
            "matched": [expansions[int(w)].why for w in by_row.loc[rows, "which"]],
            "gwp_a1a3_per_unit": gwp,
            # the value is per ONE unit (a data set declared per 1000 kg: per kg), so the unit alone
            "declared_unit": [u if isinstance(u, str) else "" for u in datasets["declared_unit"]],
            "gwp_a1a3_per_kg": per_kg,
            "density_kg_m3": density,
            "flags": _flags_of(library, ids),
        }
    )
    return frame.reset_index(drop=True)


def _first_name(record: dict) -> str:
    for name_field in _NAME_FIELDS:
        value = record.get(name_field)
        if isinstance(value, str) and value.strip():
            return value
    return ""
