"""Monte Carlo uncertainty of scores, as arrays (draws × profiles, draws × lines).

What is sampled (spreads in ``scenarios/uncertainty/``, each with its source):

- **data values**: one lognormal factor (median 1) per data set and draw, σ by the data set's
  ``data_type``; peer-estimated indicators (``library.estimates``, issue 8) add their own σ per
  (data set, indicator). The factor scales every module value the data set declares;
- **transport distances**: one lognormal factor per transport scenario, module (A4, C2) and draw,
  where the EPD does not declare the module;
- **end-of-life shares**: one Dirichlet share vector per waste category and draw around the default
  shares, where the EPD does not declare C3/C4;
- **service lives**: one lognormal factor per service-life category and draw; the number of
  replacements is recounted exactly per line and draw with the method's rule.

Not sampled: the data sets that serve only as scenario burdens (the truck per t·km of A4/C2, the
end-of-life route data sets); their spread enters through the distance and share factors. With reused
or recycled inputs the data-set factor scales the whole allocated module value (a first-order reading).

How (linearity): unit profiles are few, so every draw perturbs the profiles
``V = V0 + (f_data − 1)·own + (f_A4 − 1)·A4 + (f_C2 − 1)·C2 + Σ_r (σ_r − σ0_r)·V_r`` where ``V_r`` is the
profile with all waste on route ``r``; A5 losses and B4 follow by the same deltas. Fixed line weights are
summed once into building × profile matrices, so those parts are one small product per draw; only lines
whose service life is sampled are touched per draw (their replacements).

The stages (:mod:`mpeil.stages`) give the inventory, the library as scored and the one weight vector;
a draw's score is the stages' score plus the draw's difference from the unperturbed draw (evaluated
alike), so an unperturbed draw has the stages' score bit for bit.

Scores are per m² GFA (per year if the method is), like :attr:`mpeil.Result.scores`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..compile import CompiledBuildings
from ..engine import line_weights
from ..engine.modules import A4, A5, B4, C2, C3, C4, OUTPUT_MODULES, POSITION, D, positions
from ..engine.profiles import profile_keys
from ..engine.replacements import number_of_replacements
from ..errors import InputError
from ..model.scenarios import EOL_ROUTES
from ..outputs.result import STAGES
from ..paths import scenarios_dir
from ..stages import profiles as stage_profiles
from ._scoring import Scored, score_compiled

__all__ = ["UncertaintySpec", "MonteCarloResult", "load_uncertainty", "monte_carlo", "compare_variants"]

_OWN_MODULES = ("A1-A3", "A4", "B1", "B2", "B3", "B5", "C1", "C2", "C3", "C4", "D")
_LOST = ("A1-A3", "A4", "C1", "C2", "C3", "C4")


@dataclass(frozen=True)
class UncertaintySpec:
    """Spreads of the sampled inputs (tables of ``scenarios/uncertainty/``)."""

    data_types: pd.Series  # data_type → σ of ln ('*' = default)
    service_lives: pd.Series  # service_life_category → σ of ln ('*' = default)
    transport: pd.Series  # module (A4, C2) → σ of ln
    end_of_life: pd.Series  # waste category → Dirichlet concentration ('*' = default); inf = fixed
    use_estimates: bool = True  # add library.estimates' sigma_log for estimated indicators
    sources: dict = field(default_factory=dict)

    def zero(self) -> UncertaintySpec:
        """The same spec with every spread zero (for checks: returns the deterministic score)."""
        return replace(
            self,
            data_types=self.data_types * 0.0,
            service_lives=self.service_lives * 0.0,
            transport=self.transport * 0.0,
            end_of_life=self.end_of_life * 0.0 + np.inf,
            use_estimates=False,
        )

    def only(self, *kinds: str) -> UncertaintySpec:
        """Keep the spreads of ``kinds`` (data, service_lives, transport, end_of_life), zero the others."""
        zero = self.zero()
        return replace(
            zero,
            data_types=self.data_types if "data" in kinds else zero.data_types,
            use_estimates=self.use_estimates and "data" in kinds,
            service_lives=self.service_lives if "service_lives" in kinds else zero.service_lives,
            transport=self.transport if "transport" in kinds else zero.transport,
            end_of_life=self.end_of_life if "end_of_life" in kinds else zero.end_of_life,
        )


def _read_table(path: Path, key: str, value: str) -> tuple[pd.Series, dict]:
    try:
        table = pd.read_csv(path, dtype={key: str})
    except FileNotFoundError:
        raise InputError(f"uncertainty table not found: {path}", file=str(path)) from None
    for column in (key, value, "source"):
        if column not in table:
            raise InputError(f"column {column!r} missing", file=str(path), field=column)
    bad = table[table["source"].isna() | ~(pd.to_numeric(table[value], errors="coerce") >= 0)]
    if len(bad):
        raise InputError(
            f"row {bad.index[0] + 2}: {value} must be a number ≥ 0 and every row needs a source",
            file=str(path),
            field=value,
        )
    series = pd.Series(pd.to_numeric(table[value]).to_numpy(dtype=np.float64), index=table[key].astype(str))
    return series, dict(zip(table[key].astype(str), table["source"], strict=True))


def load_uncertainty(folder: str | Path | None = None) -> UncertaintySpec:
    """Read the spreads from ``folder`` (default ``scenarios/uncertainty``)."""
    folder = Path(folder) if folder is not None else scenarios_dir() / "uncertainty"
    data, s1 = _read_table(folder / "data_types.csv", "data_type", "sigma_log")
    lives, s2 = _read_table(folder / "service_lives.csv", "service_life_category", "sigma_log")
    transport, s3 = _read_table(folder / "transport.csv", "module", "sigma_log")
    eol, s4 = _read_table(folder / "end_of_life.csv", "waste_category", "concentration")
    sources = {"data_types": s1, "service_lives": s2, "transport": s3, "end_of_life": s4}
    return UncertaintySpec(data, lives, transport, eol, True, sources)


def _lookup(table: pd.Series, keys, default_key: str = "*") -> np.ndarray:
    default = float(table.get(default_key, 0.0))
    return np.array([float(table.get(str(k), default)) if isinstance(k, str) else default for k in keys])


# ============================================================================ results
@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Draws of scores: ``scores[d, b]`` and ``stages[d, b, s]`` in score units per m² GFA (per year)."""

    building_ids: list[str]
    scores: np.ndarray  # float64[D, B]
    stages: np.ndarray  # float64[D, B, S]
    stage_names: list[str]
    deterministic: np.ndarray  # float64[B]
    inputs: pd.DataFrame  # sampled inputs, one column per input (log factor, or a share), one row per draw
    score_unit: str
    seed: int

    @property
    def n_draws(self) -> int:
        return self.scores.shape[0]

    def _column(self, building: str | int) -> int:
        return building if isinstance(building, int) else self.building_ids.index(building)

    def summary(self, quantiles=(0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Per building: deterministic score, mean, and the quantiles (p5, p50, p95) of the score."""
        frame = pd.DataFrame(
            {"deterministic": self.deterministic, "mean": self.scores.mean(axis=0)},
            index=pd.Index(self.building_ids, name="building"),
        )
        for q in quantiles:
            frame[f"p{round(q * 100):g}"] = np.quantile(self.scores, q, axis=0)
        frame["score_unit"] = self.score_unit
        return frame

    def stage_summary(self, quantiles=(0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Tidy: building, stage, p5/p50/p95 of the stage (method's scored modules; D always shown)."""
        rows = []
        values = {f"p{round(q * 100):g}": np.quantile(self.stages, q, axis=0) for q in quantiles}
        for b, building in enumerate(self.building_ids):
            for s, stage in enumerate(self.stage_names):
                rows.append({"building": building, "stage": stage, **{k: v[b, s] for k, v in values.items()}})
        return pd.DataFrame(rows)

    def p_exceeds(self, limit) -> pd.Series:
        """P(score > limit) per building; ``limit`` a number or one per building (array or Series by id)."""
        if isinstance(limit, pd.Series):
            limit = limit.reindex(self.building_ids).to_numpy(dtype=np.float64)
        limit = np.broadcast_to(np.asarray(limit, dtype=np.float64), (len(self.building_ids),))
        p = (self.scores > limit[None, :]).mean(axis=0)
        return pd.Series(np.where(np.isnan(limit), np.nan, p), index=pd.Index(self.building_ids, name="building"))

    def p_lower(self, b: str | int, a: str | int) -> float:
        """P(score of ``b`` < score of ``a``), over the shared (correlated) draws."""
        return float((self.scores[:, self._column(b)] < self.scores[:, self._column(a)]).mean())

    def sensitivity(self, building: str | int | None = None, top: int | None = 10) -> pd.DataFrame:
        """Inputs ranked by how much of the score's variance they explain.

        Spearman rank correlation ρ between each sampled input and the score of ``building`` (default:
        the sum over all buildings); ``share`` = ρ² / Σρ² (a first-order reading; exact for a linear,
        additive model with independent inputs).
        """
        target = self.scores.sum(axis=1) if building is None else self.scores[:, self._column(building)]
        if self.inputs.empty:
            return pd.DataFrame(columns=["input", "rho", "share"])
        x = self.inputs.rank().to_numpy(dtype=np.float64)
        y = pd.Series(target).rank().to_numpy(dtype=np.float64)
        x = x - x.mean(axis=0)
        y = y - y.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = (x * y[:, None]).sum(axis=0) / np.sqrt((x**2).sum(axis=0) * (y**2).sum())
        rho = np.nan_to_num(rho)
        frame = pd.DataFrame({"input": self.inputs.columns, "rho": rho, "share": rho**2 / max((rho**2).sum(), 1e-300)})
        frame = frame.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)
        return frame.head(top) if top else frame


# ============================================================================ sampling
@dataclass(frozen=True)
class _Draws:
    data_log: np.ndarray  # [D, n_datasets] ln factor (data type)
    estimate_log: np.ndarray | None  # [D, n_datasets, I] ln factor of estimated indicators
    transport_log: np.ndarray  # [D, n_transport, 2] ln factor (A4, C2)
    eol_shares: np.ndarray  # [D, n_groups, 4]
    life_log: np.ndarray  # [D, n_categories + 1] ln factor; last = lines without a category


def _unperturbed(draws: _Draws, comp: _Components) -> _Draws:
    """One draw in which nothing is perturbed: log factors 0, the nominal end-of-life shares."""
    return _Draws(
        np.zeros((1,) + draws.data_log.shape[1:]),
        None if draws.estimate_log is None else np.zeros((1,) + draws.estimate_log.shape[1:]),
        np.zeros((1,) + draws.transport_log.shape[1:]),
        comp.nominal_shares[None].copy(),
        np.zeros((1,) + draws.life_log.shape[1:]),
    )


def _dirichlet(rng: np.random.Generator, nominal: np.ndarray, concentration: np.ndarray, n: int) -> np.ndarray:
    """[n, G, 4] share vectors around ``nominal`` [G, 4]; zero shares stay zero; κ = inf gives the nominal."""
    out = np.broadcast_to(nominal, (n,) + nominal.shape).copy()
    finite = np.isfinite(concentration) & (concentration > 0)
    if finite.any():
        alpha = nominal[finite] * concentration[finite, None]
        gamma = np.where(alpha > 0, rng.standard_gamma(np.where(alpha > 0, alpha, 1.0), size=(n,) + alpha.shape), 0.0)
        out[:, finite] = gamma / gamma.sum(axis=2, keepdims=True)
    return out


# ============================================================================ profile components
@dataclass(frozen=True)
class _Components:
    v0: np.ndarray  # [P, M, I] nominal unit values, gaps as 0
    own: np.ndarray  # [P, M, I] the data set's declared values (+ declared A5 part)
    a4: np.ndarray  # [P, I] A4 from transport
    c2: np.ndarray  # [P, I] C2 from transport
    routes: np.ndarray  # [4, P, M, I] profile with all waste on one route (gaps as 0)
    loss: np.ndarray  # [P] loss factor λ (0 where none)
    eol_group: np.ndarray  # [P] end-of-life share group, -1 = not from the scenario
    nominal_shares: np.ndarray  # [G, 4]
    group_category: list  # [G] waste category name (or None)


def _declared(library, keys: pd.DataFrame, choices, indicators) -> np.ndarray:
    """bool[P, M]: the profile's data set declares the module (under any accepted indicator code)."""
    codes = tuple(dict.fromkeys(code for spec in indicators for code in spec.sources))
    dataset = keys["dataset"].to_numpy(dtype=np.int64)
    choice = keys["scenario_choice"].to_numpy(dtype=np.int64)
    out = np.zeros((len(keys), len(OUTPUT_MODULES)), dtype=bool)
    for c in np.unique(choice):
        tensor = library.tensor(codes, OUTPUT_MODULES, dict(choices[c]) if choices[c] else None)
        rows = choice == c
        out[rows] = ~np.isnan(tensor[dataset[rows]]).all(axis=2)
    return out


def _components(scored: Scored, keys: pd.DataFrame) -> _Components:
    compiled, options = scored.compiled, scored.result.elements.options
    v0 = np.nan_to_num(stage_profiles(scored.context, compiled, keys, options).values)
    declared = _declared(scored.library, keys, compiled.scenario_choices, options.indicators)
    own = np.zeros_like(v0)
    for module in _OWN_MODULES:
        k = POSITION[module]
        own[declared[:, k], k] = v0[declared[:, k], k]
    a4 = np.where(~declared[:, A4, None], v0[:, A4], 0.0)
    c2 = np.where(~declared[:, C2, None], v0[:, C2], 0.0)
    loss = keys["loss_rate"].to_numpy(dtype=np.float64)
    loss = np.nan_to_num(loss / (1.0 - loss) if options.loss_basis == "purchased" else loss)
    lost = v0[:, positions(_LOST)].sum(axis=1)
    own[:, A5] = np.where(declared[:, A5, None], v0[:, A5] - loss[:, None] * lost, 0.0)
    shares = keys[[f"eol_{r}" for r in EOL_ROUTES]].to_numpy(dtype=np.float64)
    from_scenario = ~np.isnan(shares).any(axis=1) & ~(declared[:, C3] & declared[:, C4])
    routes = np.zeros((len(EOL_ROUTES),) + v0.shape)
    group = np.full(len(keys), -1, dtype=np.int64)
    nominal, categories = np.zeros((0, 4)), []
    if from_scenario.any():
        for r in range(len(EOL_ROUTES)):
            unit = keys.copy()
            for j, name in enumerate(EOL_ROUTES):
                unit[f"eol_{name}"] = np.where(from_scenario, float(j == r), shares[:, j])
            routes[r] = np.nan_to_num(stage_profiles(scored.context, compiled, unit, options).values)
        waste = keys["waste_category"].to_numpy(dtype=np.int64)
        table = pd.DataFrame(np.column_stack([waste, shares]))[from_scenario]
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(table))
        group[from_scenario] = codes
        nominal = np.array([list(u)[1:] for u in uniques], dtype=np.float64)
        names = compiled.waste_categories
        categories = [names[int(u[0])] if int(u[0]) >= 0 else None for u in uniques]
    return _Components(v0, own, a4, c2, routes, loss, group, nominal, categories)


def _perturbed(comp: _Components, own_factor, a4_factor, c2_factor, shares_delta, replacement_modules) -> np.ndarray:
    """[c, P, M, I] unit values of a chunk of draws (factors [c, P] or [c, P, I]; share deltas [c, P, 4])."""
    v = comp.v0[None] + (own_factor - 1.0)[:, :, None, :] * comp.own[None]
    v[:, :, A4] += (a4_factor - 1.0)[:, :, None] * comp.a4[None]
    v[:, :, C2] += (c2_factor - 1.0)[:, :, None] * comp.c2[None]
    if shares_delta is not None:
        v += np.einsum("cpr,rpmi->cpmi", shares_delta, comp.routes)
    delta_lost = (v[:, :, positions(_LOST)] - comp.v0[None][:, :, positions(_LOST)]).sum(axis=2)
    v[:, :, A5] += comp.loss[None, :, None] * delta_lost
    parts = positions(replacement_modules)
    v[:, :, B4] = comp.v0[None, :, B4] + (v[:, :, parts] - comp.v0[None][:, :, parts]).sum(axis=2)
    return v


# ============================================================================ line weights
@dataclass(frozen=True)
class _Weights:
    fixed: dict  # group → csr [B, P] (fixed line weights summed per building and profile)
    variable: np.ndarray  # int64[Lv] lines whose service life is sampled
    life_column: np.ndarray  # [Lv] column of life_log
    building_of: sp.csr_matrix  # [B, Lv] membership


def _weights(compiled: CompiledBuildings, profile: np.ndarray, n_p: int, rule: str, life_sigma: np.ndarray) -> _Weights:
    n_b = compiled.n_buildings
    rsp = compiled.study_period_years[compiled.line_building]
    nominal = number_of_replacements(rsp, compiled.service_life_years, rule, compiled.remaining_life_years)
    existing = ~np.isnan(compiled.remaining_life_years)
    weights = line_weights(compiled.quantity, nominal, existing, compiled.removed)
    category = compiled.service_life_category
    if category is None:
        category = np.full(compiled.n_lines, -1, dtype=np.int64)
    life_column = np.where(category >= 0, category, len(life_sigma) - 1)
    # a part that lasts the study period (TOTEM's 60-year structure) is not sampled: a draw just below
    # the study period would replace a whole structure, which no scenario of TOTEM's means
    lasting = np.where(existing, compiled.remaining_life_years, compiled.service_life_years) >= rsp
    sampled = (life_sigma[life_column] > 0) & ~compiled.default_service_life & ~compiled.removed & ~lasting
    variable = np.flatnonzero(sampled & (compiled.quantity != 0))
    building = compiled.line_building

    def summed(values: np.ndarray, keep: np.ndarray | None = None) -> sp.csr_matrix:
        w = values if keep is None else np.where(keep, values, 0.0)
        return sp.csr_matrix((w, (building, profile)), shape=(n_b, n_p))

    fixed = {
        "production": summed(weights.production),
        "use": summed(weights.use),
        "end_of_life": summed(weights.end_of_life),
        "replacements": summed(weights.replacements, ~sampled),
        "installations": summed(weights.installations, ~sampled),
    }
    membership = sp.csr_matrix(
        (np.ones(variable.size), (building[variable], np.arange(variable.size))), shape=(n_b, variable.size)
    )
    return _Weights(fixed, variable, life_column[variable], membership)


# ============================================================================ the run
def _sample(rng, spec: UncertaintySpec, scored: Scored, keys, comp: _Components, n: int) -> tuple[_Draws, dict]:
    library, compiled = scored.library, scored.compiled
    datasets = np.unique(keys["dataset"].to_numpy(dtype=np.int64))
    data_type = library.datasets["data_type"].to_numpy(dtype=object)[datasets]
    sigma = _lookup(spec.data_types, data_type)
    data_log = rng.standard_normal((n, datasets.size)) * sigma[None, :]
    estimate_log = None
    estimates = getattr(library, "estimates", None) if spec.use_estimates else None
    indicators = list(scored.result.indicators)
    if isinstance(estimates, pd.DataFrame) and len(estimates):
        est_sigma = np.zeros((datasets.size, len(indicators)))
        ids = library.datasets["dataset_id"].to_numpy(dtype=object)[datasets]
        table = estimates.groupby(["dataset_id", "indicator"])["sigma_log"].max()
        for key, s in table.items():
            dataset_id, code = str(key[0]), str(key[1])
            hit = np.flatnonzero(ids == dataset_id)
            if hit.size and code in indicators and np.isfinite(s):
                est_sigma[hit, indicators.index(code)] = s
        if est_sigma.any():
            estimate_log = rng.standard_normal((n,) + est_sigma.shape) * est_sigma[None]
    n_t = max(len(compiled.transport_scenarios), 1)
    t_sigma = np.array([float(spec.transport.get("A4", 0.0)), float(spec.transport.get("C2", 0.0))])
    transport_log = rng.standard_normal((n, n_t, 2)) * t_sigma[None, None, :]
    kappa = _lookup(spec.end_of_life, comp.group_category)
    eol = _dirichlet(rng, comp.nominal_shares, kappa, n)
    lives = compiled.service_life_categories
    life_sigma = np.append(_lookup(spec.service_lives, lives), float(spec.service_lives.get("*", 0.0)))
    life_log = rng.standard_normal((n, life_sigma.size)) * life_sigma[None, :]
    ids = library.datasets["dataset_id"].to_numpy(dtype=object)[datasets]
    titles = library.datasets["name_en"].fillna("").astype(str).to_numpy(dtype=object)[datasets]
    names = [f"{t[:40]} ({i})" if t else str(i) for t, i in zip(titles, ids, strict=True)]
    context = {"datasets": datasets, "names": names, "sigma": sigma, "t_sigma": t_sigma, "life_sigma": life_sigma}
    return _Draws(data_log, estimate_log, transport_log, eol, life_log), context


def _inputs_frame(draws: _Draws, ctx: dict, compiled: CompiledBuildings, comp: _Components) -> pd.DataFrame:
    columns: dict[str, np.ndarray] = {}
    for j in np.flatnonzero(ctx["sigma"] > 0):
        columns[f"data set {ctx['names'][j]}"] = draws.data_log[:, j]
    for t, name in enumerate(compiled.transport_scenarios):
        for k, module in enumerate(("A4", "C2")):
            if ctx["t_sigma"][k] > 0:
                columns[f"transport {module} {name}"] = draws.transport_log[:, t, k]
    for g, category in enumerate(comp.group_category):
        main = int(np.argmax(comp.nominal_shares[g]))
        column = draws.eol_shares[:, g, main]
        if np.ptp(column) > 0:
            columns[f"end of life {category or 'own shares'} #{g}: {EOL_ROUTES[main]} share"] = column
    lives = [*compiled.service_life_categories, "(no category)"]
    for c in np.flatnonzero(ctx["life_sigma"] > 0):
        columns[f"service life {lives[c]}"] = draws.life_log[:, c]
    return pd.DataFrame(columns)


def monte_carlo(
    buildings,
    n_draws: int = 1000,
    seed: int = 0,
    method="mpeil-ef31",
    library=None,
    scenarios=None,
    spec: UncertaintySpec | None = None,
    chunk: int = 50,
    **options,
) -> MonteCarloResult:
    """Sample the score of every building ``n_draws`` times; all buildings share the draws.

    ``buildings``: whatever :func:`mpeil.score` takes. Variants scored in one call share the draws of
    the data sets, scenarios and categories they have in common, so ``p_lower`` is a paired comparison.
    """
    if not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise InputError(f"n_draws must be an integer ≥ 1, got {n_draws!r}", field="n_draws")
    spec = spec if spec is not None else load_uncertainty()
    scored = score_compiled(buildings, method, library, scenarios, **options)
    compiled, elements = scored.compiled, scored.result.elements
    engine = elements.options
    keys_index, keys = profile_keys(compiled)
    comp = _components(scored, keys)  # unit profiles through the stages (mpeil.stages.profiles)
    rng = np.random.default_rng(seed)
    draws, ctx = _sample(rng, spec, scored, keys, comp, int(n_draws))
    weights = _weights(compiled, keys_index, len(keys), engine.replacement_rule, ctx["life_sigma"])
    w = scored.context.weights  # the stages' one weight vector (score units per indicator unit)
    scores, stages = _evaluate(scored, keys, keys_index, comp, draws, ctx, weights, w, chunk)
    deterministic = scored.result.scores["score"].to_numpy(dtype=np.float64)
    # each draw is the stages' score plus its difference from the unperturbed draw, which is exactly
    # zero for an unperturbed draw (the same arithmetic on the same numbers): that draw scores the
    # stages' bits, not the linear evaluation's (which sums in another order)
    nominal, _ = _evaluate(scored, keys, keys_index, comp, _unperturbed(draws, comp), ctx, weights, w, chunk)
    scores = deterministic[None, :] + (scores - nominal)
    nan = np.isnan(deterministic)
    scores[:, nan] = np.nan
    stages[:, nan] = np.nan
    return MonteCarloResult(
        building_ids=[str(b) for b in compiled.building_ids],
        scores=scores,
        stages=stages,
        stage_names=list(STAGES),
        deterministic=deterministic,
        inputs=_inputs_frame(draws, ctx, compiled, comp),
        score_unit=str(scored.result.scores["score_unit"].iloc[0]),
        seed=int(seed),
    )


_GROUP_OF_STAGE = {
    "product (A1-A3)": "production",
    "construction (A4-A5)": "production",
    "end of life (C1-C4)": "end_of_life",
}


def _evaluate(scored, keys, keys_index, comp, draws: _Draws, ctx, weights: _Weights, w, chunk):
    """[D, B] scores and [D, B, S] stages, per m² GFA (per year if the method is), chunk by chunk of draws."""
    compiled, method = scored.compiled, scored.method
    n, n_b = draws.data_log.shape[0], compiled.n_buildings
    scope = set(method.scored_modules)
    stage_modules = [positions(m for m in ms if m in scope or m == "D") for ms in STAGES.values()]
    lines = weights.variable
    per_line = {
        "rsp": compiled.study_period_years[compiled.line_building][lines],
        "life": compiled.service_life_years[lines],
        "remaining": compiled.remaining_life_years[lines],
        "q": compiled.quantity[lines],
        "profile": keys_index[lines],
        "rule": scored.result.elements.options.replacement_rule,
        "b4": B4 in stage_modules[2],
    }
    stages = np.zeros((n, n_b, len(STAGES)))
    for first in range(0, n, chunk):
        d = slice(first, min(first + chunk, n))
        unit = _unit_scores(comp, draws, d, keys, ctx, w, scored.result.elements.options.replacement_modules)
        stages[d] = _fixed_stages(weights, unit, stage_modules)
        if lines.size:
            _add_replacements(stages[d], weights, unit, draws.life_log[d], per_line)
    denominator = compiled.gross_floor_area_m2 * (compiled.study_period_years if method.per_year else 1.0)
    stages /= denominator[None, :, None]
    counted = [s for s, name in enumerate(STAGES) if name != "beyond (D)" or "D" in scope]
    return stages[:, :, counted].sum(axis=2), stages


def _unit_scores(comp: _Components, draws: _Draws, d: slice, keys, ctx, w, replacement_modules) -> np.ndarray:
    """[c, P, M] score units per declared unit of each profile, for the draws ``d``."""
    dataset_col = np.searchsorted(ctx["datasets"], keys["dataset"].to_numpy(dtype=np.int64))
    own = np.exp(draws.data_log[d][:, dataset_col])[:, :, None] * np.ones((1, 1, len(w)))
    if draws.estimate_log is not None:
        own = own * np.exp(draws.estimate_log[d][:, dataset_col])
    transport = keys["transport"].to_numpy(dtype=np.int64)
    t_col = np.where(transport >= 0, transport, 0)
    has_transport = np.where(transport >= 0, 1.0, 0.0)[None, :]  # lines without a scenario: factor 1
    a4 = np.exp(draws.transport_log[d][:, t_col, 0]) * has_transport + (1 - has_transport)
    c2 = np.exp(draws.transport_log[d][:, t_col, 1]) * has_transport + (1 - has_transport)
    delta = None
    grouped = comp.eol_group >= 0
    if grouped.any():
        delta = np.zeros((d.stop - d.start, len(keys), 4))
        g = comp.eol_group[grouped]
        delta[:, grouped] = draws.eol_shares[d][:, g] - comp.nominal_shares[g][None]
    return _perturbed(comp, own, a4, c2, delta, replacement_modules) @ w


def _fixed_stages(weights: _Weights, unit: np.ndarray, stage_modules) -> np.ndarray:
    """[c, B, S] stage sums of the fixed line weights (one sparse product per stage)."""
    out = np.zeros((unit.shape[0], weights.fixed["use"].shape[0], len(STAGES)))
    for s, (stage, modules) in enumerate(zip(STAGES, stage_modules, strict=True)):
        if not modules:
            continue
        if stage == "use (B1-B5)":
            plain = [k for k in modules if k != B4]
            part = weights.fixed["use"] @ unit[:, :, plain].sum(axis=2).T
            if B4 in modules:
                part = part + weights.fixed["replacements"] @ unit[:, :, B4].T
        elif stage == "beyond (D)":
            part = weights.fixed["installations"] @ unit[:, :, D].T
        else:
            part = weights.fixed[_GROUP_OF_STAGE[stage]] @ unit[:, :, modules].sum(axis=2).T
        out[:, :, s] = np.asarray(part).T
    return out


def _add_replacements(stages: np.ndarray, weights: _Weights, unit: np.ndarray, life_log: np.ndarray, line) -> None:
    """Add B4 and D of the lines whose service life is sampled: replacements recounted per line and draw."""
    factor = np.exp(life_log[:, weights.life_column])
    nr = number_of_replacements(line["rsp"], line["life"] * factor, line["rule"], line["remaining"])
    if line["b4"]:
        b4 = line["q"] * nr * unit[:, line["profile"], B4]
        stages[:, :, 2] += np.asarray(weights.building_of @ b4.T).T
    d = line["q"] * (1.0 + nr) * unit[:, line["profile"], D]
    stages[:, :, 4] += np.asarray(weights.building_of @ d.T).T


def compare_variants(a, b, n_draws: int = 1000, seed: int = 0, **kwargs) -> dict:
    """P(B < A) with correlated draws, and both scores' p5/p50/p95 (one Monte Carlo over both)."""
    result = monte_carlo([a, b], n_draws=n_draws, seed=seed, **kwargs)
    if len(result.building_ids) != 2:
        raise InputError("compare_variants takes one building per variant", field="buildings")
    summary = result.summary()
    return {
        "p_b_lower": result.p_lower(1, 0),
        "a": summary.iloc[0].to_dict(),
        "b": summary.iloc[1].to_dict(),
        "result": result,
    }
