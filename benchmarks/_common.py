"""Shared helpers of the benchmarks: synthetic stocks, timers, peak memory, LCAx and Brightway models.

Not a test module (no ``test_`` prefix); imported by ``test_bench_*.py`` and ``scaling.py``.
"""

from __future__ import annotations

import datetime
import gc
import os
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _bare import bare_operands

import mpeil
from mpeil.api import engine_options
from mpeil.compile import compile_frame
from mpeil.engine import run_engine
from mpeil.engine.core import WEIGHT_GROUPS, aggregate, line_weights
from mpeil.engine.profiles import OUTPUT_MODULES, build_profiles, profile_keys
from mpeil.engine.replacements import number_of_replacements
from mpeil.methods import load_method
from mpeil.model.library import load_library
from mpeil.model.scenarios import load_scenarios
from mpeil.synthetic import generate_stock

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
#: the modules lcax computes in the like-for-like comparison (it has no replacements, no transport)
LCAX_COMPARED_MODULES = ("A1-A3", "C1", "C2", "C3", "C4", "D")


# ---------------------------------------------------------------- environment
def environment() -> dict:
    from importlib.metadata import version

    import lcax  # noqa: F401  (version below)
    import pandas
    import scipy

    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "lcax": version("lcax"),
        "bw2calc": version("bw2calc"),
        "bw2data": version("bw2data"),
        "mpeil": mpeil.__version__,
        "load_average_at_start": os.getloadavg(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# ---------------------------------------------------------------- timing and memory
def best_of(fn, repeat: int = 3) -> tuple[float, list[float], object]:
    """Best wall time of ``repeat`` calls (seconds), all times, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), times, result


def _status(field: str) -> float:
    """A field of /proc/self/status in MB (VmRSS, VmHWM), NaN where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def rss_mb() -> float:
    return _status("VmRSS")


def reset_peak() -> bool:
    """Reset the process's peak RSS (Linux ≥ 4.0: ``clear_refs`` 5); False where not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """Peak RSS since the last :func:`reset_peak` (or since the start), MB."""
    value = _status("VmHWM")
    if value != value:
        import resource

        value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return value


@dataclass
class Measured:
    seconds: float
    peak_mb: float  # peak RSS during the step
    rss_before_mb: float  # RSS when the step started
    result: object = None

    @property
    def peak_increase_mb(self) -> float:
        return self.peak_mb - self.rss_before_mb


def measure(fn) -> Measured:
    """Run ``fn`` once: wall time and peak RSS of this step alone (the peak is reset before it)."""
    gc.collect()
    reset_peak()
    before = rss_mb()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    return Measured(seconds, peak_mb(), before, result)


# ---------------------------------------------------------------- mpeil pieces
@dataclass
class Setup:
    library: object
    scenarios: object
    method: object
    options: object


def setup(method: str = "mpeil-ef31") -> Setup:
    library, scenarios, loaded = load_library(), load_scenarios(), load_method(method)
    return Setup(library, scenarios, loaded, engine_options(loaded))


def compile_stock(frame, s: Setup):
    return compile_frame(
        frame, s.library, s.scenarios, s.method.reference_study_period_years, s.method.default_transport
    )


def engine_parts(compiled, s: Setup) -> dict:
    """Time the engine's parts on compiled buildings: profiles, line weights, sparse aggregation."""
    options = s.options
    t0 = time.perf_counter()
    keys_index, keys = profile_keys(compiled)
    profiles = build_profiles(
        s.library,
        s.scenarios,
        keys,
        compiled,
        options,
    )
    t1 = time.perf_counter()
    replacements = number_of_replacements(
        compiled.study_period_years[compiled.line_building],
        compiled.service_life_years,
        options.replacement_rule,
        compiled.remaining_life_years,
    )
    weights = line_weights(compiled.quantity, replacements, ~np.isnan(compiled.remaining_life_years), compiled.removed)
    t2 = time.perf_counter()
    aggregate(compiled.line_element, compiled.n_elements, keys_index, weights, profiles.values, profiles.missing)
    t3 = time.perf_counter()
    return {
        "profiles_s": t1 - t0,
        "weights_s": t2 - t1,
        "aggregation_s": t3 - t2,
        "n_profiles": len(keys),
        "keys_index": keys_index,
        "profiles": profiles,
        "weights": weights,
    }


def bare_product(compiled, n_profiles: int, n_columns: int, repeat: int = 3) -> float:
    """Best time of a bare ``scipy.sparse`` product of the engine's size: CSR elements × profiles with
    nnz = lines (random profile per line, the compiled line → element structure) times a dense
    profiles × (modules · indicators) matrix."""
    matrix, dense = bare_operands(compiled, n_profiles, n_columns)
    best, _, _ = best_of(lambda: matrix @ dense, repeat)
    return best


def score_frame(frame, s: Setup):
    """End to end: flat frame → compile → engine → one score row per building."""
    return mpeil.score(frame, method=s.method, library=s.library, scenarios=s.scenarios).scores


def like_for_like_frame(frame):
    """The same stock with every service life equal to the 60-year study period: no replacements."""
    frame = frame.copy()
    frame["service_life_years"] = 60.0
    return frame


# ---------------------------------------------------------------- LCAx
def lcax_projects(compiled, s: Setup, buildings=None, modules=LCAX_COMPARED_MODULES):
    """``lcax.Project`` objects for buildings of ``compiled``, one ``Product`` per layer line.

    Same model as :func:`mpeil.outputs.lcax.to_lcax` (its module and indicator keys), but built in
    one pass over the compiled arrays (lines are grouped by element, elements by building), with one
    ``EPD`` object per unit profile shared by the lines that use it.
    """
    import lcax

    from mpeil.outputs.lcax import _UNITS, LCAX_CATEGORIES, LCAX_MODULES

    options = s.options
    keys_index, keys = profile_keys(compiled)
    profiles = build_profiles(
        s.library,
        s.scenarios,
        keys,
        compiled,
        options,
    )
    codes = [spec.code for spec in options.indicators]
    module_keys = [getattr(lcax.LifeCycleModule, LCAX_MODULES[m]) for m in modules]
    module_index = [OUTPUT_MODULES.index(m) for m in modules]
    day = datetime.date(2000, 1, 1)
    epds, units = {}, {}
    for p in np.unique(keys_index):
        d = int(keys["dataset"].iloc[p])
        impacts = {}
        for j, code in enumerate(codes):
            if code in LCAX_CATEGORIES:
                per_module = {
                    key: float(profiles.values[p, k, j])
                    for key, k in zip(module_keys, module_index, strict=True)
                    if not np.isnan(profiles.values[p, k, j])
                }
                if per_module:
                    impacts[getattr(lcax.ImpactCategoryKey, LCAX_CATEGORIES[code])] = lcax.ImpactCategory(per_module)
        unit = getattr(lcax.Unit, _UNITS.get(str(s.library.declared_unit(d)), "UNKNOWN"))
        units[p] = unit
        epds[p] = lcax.EPD(
            name=str(s.library.datasets["dataset_id"].iloc[d]),
            declared_unit=unit,
            version="1",
            published_date=day,
            valid_until=day,
            standard=lcax.Standard.EN15804A2,
            location=lcax.Country.UNKNOWN,
            subtype=lcax.SubType.GENERIC,
            impacts=lcax.Impacts(impacts),
            id=f"profile-{p}",
        )
    element_start = np.searchsorted(compiled.element_building, np.arange(compiled.n_buildings + 1))
    line_start = np.searchsorted(compiled.line_element, np.arange(compiled.n_elements + 1))
    categories = [getattr(lcax.ImpactCategoryKey, LCAX_CATEGORIES[c]) for c in codes if c in LCAX_CATEGORIES]
    projects = []
    for b in range(compiled.n_buildings) if buildings is None else buildings:
        assemblies = []
        for e in range(element_start[b], element_start[b + 1]):
            products = [
                lcax.Product(
                    name=str(line),
                    reference_service_life=int(compiled.service_life_years[line]),
                    impact_data=[epds[keys_index[line]]],
                    quantity=float(compiled.quantity[line]),
                    unit=units[keys_index[line]],
                    id=str(line),
                )
                for line in range(line_start[e], line_start[e + 1])
            ]
            assemblies.append(
                lcax.Assembly(
                    name=str(compiled.element_ids[e]),
                    quantity=1.0,
                    unit=lcax.Unit.PCS,
                    products=products,
                    id=f"{b}-{e}",
                )
            )
        projects.append(
            lcax.Project(
                id=str(compiled.building_ids[b]),
                name=str(compiled.building_ids[b]),
                location=lcax.Location(country=lcax.Country.UNKNOWN),
                project_phase=lcax.ProjectPhase.OTHER,
                software_info=lcax.SoftwareInfo(lca_software="mpeil-benchmark"),
                life_cycle_modules=module_keys,
                impact_categories=categories,
                assemblies=assemblies,
                reference_study_period=int(compiled.study_period_years[b]),
            )
        )
    return projects


def lcax_gwp(project, module: str = "A1-A3") -> float:
    """GWP-total of one module from a calculated LCAx project."""
    import lcax

    from mpeil.outputs.lcax import LCAX_MODULES

    per_module = lcax.get_impacts_by_life_cycle_module(project.results, lcax.ImpactCategoryKey.GWP)
    per_module = {str(k).split(".")[-1].upper(): v for k, v in (per_module.dict() if per_module else {}).items()}
    return float(per_module.get(LCAX_MODULES[module].upper(), 0.0) or 0.0)


# ---------------------------------------------------------------- Brightway
class BrightwayModel:
    """A minimal Brightway (bw2data + bw2calc) model of the stock, in a throw-away project folder.

    - biosphere ``proxies``: one proxy flow per (module, indicator) of mpeil's output;
    - background ``profiles``: one activity per (unit profile, weight group), emitting the profile's
      values of that group's modules per declared unit (mpeil computed them: bw2calc has no EN 15804
      modules, no units, no scenarios, no replacements);
    - per building, a foreground activity consuming each (profile, group) activity by the building's
      summed line weights (quantity, × replacements for B4, × installations for D — also mpeil's);
    - one LCIA method per indicator with characterisation factor 1 on its A1-A3…C4 proxies.

    bw2calc then builds and solves the technosphere matrix and characterises the inventory: the
    linear algebra only. ``BRIGHTWAY2_DIR`` must point at a temporary folder before bw2data is
    imported (the caller sets it).
    """

    def __init__(
        self,
        profiles,
        indicators: list[str],
        scope=("A1-A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "C1", "C2", "C3", "C4"),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import bw2calc
            import bw2data
        self.bc, self.bd = bw2calc, bw2data
        bw2data.projects.set_current("mpeil-benchmark")
        self.indicators = indicators
        n_p = profiles.values.shape[0]
        flows = {
            ("proxies", f"{m}|{i}"): {"name": f"{m} {i}", "unit": "unit", "type": "emission"}
            for m in OUTPUT_MODULES
            for i in indicators
        }
        bw2data.Database("proxies").write(flows)
        background = {}
        for p in range(n_p):
            for group, modules in WEIGHT_GROUPS.items():
                exchanges = [{"input": ("profiles", f"{p}|{group}"), "amount": 1.0, "type": "production"}]
                for module in modules:
                    k = OUTPUT_MODULES.index(module)
                    for j, code in enumerate(indicators):
                        value = profiles.values[p, k, j]
                        if not np.isnan(value) and value != 0.0:
                            exchanges.append(
                                {"input": ("proxies", f"{module}|{code}"), "amount": float(value), "type": "biosphere"}
                            )
                background[("profiles", f"{p}|{group}")] = {
                    "name": f"profile {p} {group}",
                    "unit": "unit",
                    "exchanges": exchanges,
                }
        bw2data.Database("profiles").write(background)
        self.methods = {}
        for code in indicators:
            name = ("mpeil-benchmark", code)
            bw2data.Method(name).write([(("proxies", f"{m}|{code}"), 1.0) for m in scope])
            self.methods[code] = name
        self.foreground = bw2data.Database("building")

    def write_building(self, building_id: str, demand: dict[tuple[int, str], float]):
        exchanges = [{"input": ("building", building_id), "amount": 1.0, "type": "production"}]
        exchanges += [
            {"input": ("profiles", f"{p}|{group}"), "amount": float(amount), "type": "technosphere"}
            for (p, group), amount in demand.items()
            if amount
        ]
        self.foreground.write(
            {("building", building_id): {"name": building_id, "unit": "unit", "exchanges": exchanges}}
        )
        return self.bd.get_activity(("building", building_id))

    def score(self, activity, indicator: str = "GWP-total") -> float:
        fu, data_objs, remapping = self.bd.prepare_lca_inputs({activity: 1.0}, method=self.methods[indicator])
        lca = self.bc.LCA(demand=fu, data_objs=data_objs, remapping_dicts=remapping)
        lca.lci()
        lca.lcia()
        return float(lca.score)


def building_demands(compiled, keys_index, weights, buildings) -> dict[int, dict]:
    """Per building: summed line weights per (unit profile, weight group)."""
    line_start = np.searchsorted(compiled.line_building, np.arange(compiled.n_buildings + 1))
    out = {}
    for b in buildings:
        lines = slice(line_start[b], line_start[b + 1])
        demand = {}
        for group in WEIGHT_GROUPS:
            per_profile = np.bincount(keys_index[lines], weights=getattr(weights, group)[lines])
            for p in np.flatnonzero(per_profile):
                demand[(int(p), group)] = float(per_profile[p])
        out[b] = demand
    return out


def stock_frame(n: int, seed: int = 1, start: int = 0):
    return generate_stock(n, seed=seed, start=start)


def run_engine_once(compiled, s: Setup):
    return run_engine(compiled, s.library, s.scenarios, s.options)
