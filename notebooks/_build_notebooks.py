"""Writes the notebooks from cell sources (so diffs stay readable). Run: python notebooks/_build_notebooks.py"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

circularity = new_notebook(
    cells=[
        new_markdown_cell("""# Design for disassembly: does it show up in the score?

A conventional terraced house (`scenarios/examples/terraced_house.json`) against a design-for-disassembly
(DfD) variant of the same house, scored under each reuse/recycling allocation approach mpeil offers:

| approach | what a reused input carries | what leaving for reuse/recycling earns |
|---|---|---|
| `cutoff_d` (EN 15804, default) | reconditioning only | reported in D (net output flow), not in the score unless the method counts D |
| `cff` (PEF Circular Footprint Formula) | an A-factor share of primary production | (1 − A) of the substituted primary material, in D |
| `multicycle` | its 1/n share of production and final disposal | the same share: the next users carry theirs |
| `dk_zero` (BR18 since 2024) | nothing, replacements included | nothing: the first user keeps the disposal ahead |

The DfD variant reuses second-hand roof tiles and internal doors, designs the facing brick (lime mortar),
rafters, lintels and wall ties for several use cycles, and sends most of them to reuse at the end of life."""),
        new_code_cell("""import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

import mpeil
from mpeil.methods import load_method
from mpeil.model import EndOfLifeShares
from mpeil.model.library import load_library
from mpeil.readers import read_building

library = load_library(["obd2024"])          # load once, reuse for every run
house = read_building("../scenarios/examples/terraced_house.json")"""),
        new_code_cell("""def design_for_disassembly(building):
    \"\"\"The same house with reusable components and second-hand inputs.\"\"\"
    variant = building.model_copy(deep=True, update={"id": "dfd-terraced-house", "name": "DfD variant"})
    for element in variant.elements:
        for layer in element.layers:
            name = (layer.name or "").lower()
            if "roof tiles" in name or ("door leaf" in name and element.id == "ID-1"):
                layer.reused_input = 1.0                       # second-hand tiles and doors
            if name in ("facing brick", "rafters 75 x 220 mm", "steel angle lintel", "stainless steel wall ties"):
                layer.use_cycles = 3                           # designed to be taken apart and used again
                layer.end_of_life = EndOfLifeShares(reuse=0.8, recycling=0.15, landfill=0.05)
    return variant

variant = design_for_disassembly(house)
[(l.name, l.use_cycles, l.reused_input) for e in variant.elements for l in e.layers
 if l.use_cycles > 1 or l.reused_input > 0]"""),
        new_code_cell("""method = load_method("gwp")
rows, results = [], {}
for approach in ("cutoff_d", "cff", "multicycle", "dk_zero"):
    result = mpeil.score([house, variant], method=method.with_options(eol_allocation=approach), library=library)
    results[approach] = result
    stages = result.by_stage()
    for building, score in result.scores["score"].items():
        rows.append({"approach": approach, "building": building, "GWP [kg CO2e/(m²·yr)]": score,
                     "D (reported)": stages.loc[building, "beyond (D)"]})
table = pd.DataFrame(rows).pivot(index="approach", columns="building", values="GWP [kg CO2e/(m²·yr)]")
table["DfD − conventional"] = table["dfd-terraced-house"] - table["example-terraced-house"]
table.round(3)"""),
        new_code_cell("""ax = table[["example-terraced-house", "dfd-terraced-house"]].plot.bar(rot=0, figsize=(7, 3.5))
ax.set_ylabel("kg CO2e per m² GFA per year")
ax.set_title("Conventional vs design for disassembly, per allocation approach")
ax.legend(["conventional", "design for disassembly"])
plt.tight_layout()
plt.savefig("circularity_variants.png", dpi=120)"""),
        new_markdown_cell("""## Why the variant scores lower (cut-off): element by element

`Result.compare` lists the elements whose contribution changed, largest first."""),
        new_code_cell(
            """results["multicycle"].compare("example-terraced-house", "dfd-terraced-house").head(6).round(4)"""
        ),
        new_markdown_cell("""Under `cutoff_d` a component sent to reuse earns nothing in the score (D is reported apart), so the
DfD variant gains only from its second-hand inputs; `multicycle` and the `cff` let the future reuse count
too, each by its own rule, and `dk_zero` makes second-hand inputs free. Which one the M-peil will use is
not yet published by OVAM (method.md §8.1, §10 #12–13): mpeil keeps all four switchable."""),
    ]
)

research = new_notebook(
    cells=[
        new_markdown_cell("""# Research benchmark: datasets, labels, uncertainty, phased limits and district flows

Everything here runs on the **synthetic** permit stock of `mpeil.synthetic` (archetypes in
`scenarios/archetypes/`), scored with the open ÖKOBAUDAT generic data. The numbers describe that stock,
not real Flemish permits. The test suite runs this notebook at a small size; set `MPEIL_NOTEBOOK_N`
(buildings) and `MPEIL_NOTEBOOK_DRAWS` (Monte Carlo draws) for a bigger run."""),
        new_code_cell("""import os
import tempfile
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mpeil.analysis.dataset import build_dataset
from mpeil.analysis.district import score_district
from mpeil.analysis.labels import derive_label_bands
from mpeil.analysis.limits import load_trajectory, simulate_obligation
from mpeil.analysis.uncertainty import load_uncertainty, monte_carlo
from mpeil.methods.labels import load_label_scale
from mpeil.model.library import load_library
from mpeil.synthetic import generate_stock

N = int(os.environ.get("MPEIL_NOTEBOOK_N", 150))
DRAWS = int(os.environ.get("MPEIL_NOTEBOOK_DRAWS", 200))
library = load_library()            # load once, reuse everywhere"""),
        new_markdown_cell("""## 1. A benchmark dataset from the synthetic stock

`build_dataset` (the CLI is `mpeil dataset build --n N --seed 1 --out DIR`) writes Parquet tables per building,
element and stage, the distributions, a datacard, a JSON Schema and a manifest with hashes."""),
        new_code_cell("""folder = Path(tempfile.mkdtemp()) / "dataset"
manifest = build_dataset(folder, n=N, seed=1, library=library)
buildings = pd.read_parquet(folder / "buildings.parquet")
print(manifest["name"], manifest["dataset_version"], manifest["hashes"]["library"][:12])
buildings[["building_id", "archetype", "size_class", "gross_floor_area_m2", "score", "label", "gwp_per_m2_yr"]].head()"""),
        new_markdown_cell("""## 2. Distributions per archetype"""),
        new_code_cell("""distributions = pd.read_parquet(folder / "distributions.parquet")
table = distributions[(distributions["metric"] == "score") & (distributions["size_class"] == "all")]
table[["archetype", "n", "p5", "p25", "p50", "p75", "p95"]].round(3)"""),
        new_code_cell("""fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
order = sorted(buildings["archetype"].unique())
for ax, column, unit in ((axes[0], "score", "mPt/(m²·yr)"), (axes[1], "gwp_per_m2_yr", "kg CO2e/(m²·yr)")):
    ax.boxplot([buildings.loc[buildings["archetype"] == a, column] for a in order], whis=(5, 95))
    ax.set_xticks(range(1, len(order) + 1), order, rotation=20)
    ax.set_ylabel(unit)
axes[0].set_title("M-peil (p5-p95 whiskers)")
axes[1].set_title("GWP-total, A1-C4")
plt.tight_layout()"""),
        new_markdown_cell("""## 3. Label bands from the dataset

Percentile bands (A ≤ p10, B ≤ p25, C ≤ p40, D ≤ p60, E ≤ p75, F ≤ p90, G above) per archetype. The shipped
scale `scenarios/labels/mpeil-ef31.csv` is the same derivation on 2,000 buildings (seed 1); a smaller `N`
gives somewhat different bounds."""),
        new_code_cell("""bands = derive_label_bands(buildings, reference=manifest["name"])
shipped = load_label_scale("mpeil-ef31").table
compare = bands.merge(shipped, on=["use_type", "label"], suffixes=("_here", "_shipped"))
compare.pivot(index="use_type", columns="label", values="upper_bound_here").round(3)"""),
        new_code_cell("""pd.crosstab(buildings["archetype"], buildings["label"])"""),
        new_markdown_cell("""## 4. Uncertainty of a few buildings

Monte Carlo over data values (σ per data type), service lives, transport distances and end-of-life
shares (`scenarios/uncertainty/`). P(score > limit) uses the E/F bound of the shipped label scale."""),
        new_code_cell("""spec = load_uncertainty()
few = generate_stock(6, seed=1)
mc = monte_carlo(few, n_draws=DRAWS, seed=1, library=library, spec=spec)
scale = load_label_scale("mpeil-ef31")
types = few.drop_duplicates("building_id").set_index("building_id")["use_type"].astype(str)
limit = pd.Series({b: scale.bounds[t][4] for b, t in types.items()})
summary = mc.summary().assign(limit=limit, p_exceeds=mc.p_exceeds(limit))
summary.round(3)"""),
        new_code_cell("""mc.stage_summary().head(10).round(4)"""),
        new_code_cell("""mc.sensitivity(building=mc.building_ids[0], top=6).round(3)"""),
        new_markdown_cell("""Variants share their draws: the same building without its roof is lower in every draw."""),
        new_code_cell("""house = few[few["building_id"] == mc.building_ids[0]]
roof = house["element_type"].astype(str).isin(["FR", "PR"])  # flat or pitched roof
variant = house[~roof].assign(building_id=lambda f: f["building_id"].astype(str) + "-no-roof")
paired = monte_carlo(pd.concat([house, variant]), n_draws=DRAWS, seed=2, library=library, spec=spec)
print("roof lines removed:", int(roof.sum()), "; P(variant < house) =", paired.p_lower(1, 0))"""),
        new_markdown_cell("""The p50 lies above the deterministic score: TOTEM's service lives divide the 60-year study period
(10, 15, 20, 30 years), so with the `ceil` rule any draw a little below such a life adds a whole
replacement, while a draw above removes none. The deterministic score sits at the favourable edge."""),
        new_markdown_cell("""## 5. A phased obligation

The illustrative trajectory (`scenarios/limits/illustrative.toml`, not a policy value) starts at the E/F
bound in 2030 and tightens by 10 % every 3 years. Share of the stock passing, with the 90 % band over draws."""),
        new_code_cell("""stock = generate_stock(N, seed=1)
stock_mc = monte_carlo(stock, n_draws=max(DRAWS // 2, 50), seed=3, library=library, spec=spec)
trajectory = load_trajectory("illustrative")
scores = pd.Series(stock_mc.deterministic, index=stock_mc.building_ids)
use = stock.drop_duplicates("building_id").set_index(stock.drop_duplicates("building_id")["building_id"].astype(str))["use_type"].astype(str)
passing = simulate_obligation(trajectory, scores, use, stock_mc)
fig, ax = plt.subplots(figsize=(8, 3.5))
for k, (use_type, part) in enumerate(passing.groupby("use_type")):
    ax.plot(part["year"], part["share_passing"], label=use_type, color=f"C{k}")
    ax.fill_between(part["year"], part["share_passing_p5"], part["share_passing_p95"], color=f"C{k}", alpha=0.2)
ax.set_ylabel("share passing"); ax.set_title(trajectory.name); ax.legend(fontsize=8)
passing[passing["year"].isin([2030, 2036, 2045])].round(3)"""),
        new_markdown_cell("""## 6. A district's material flows

Thirty buildings as one district: mass entering (construction, replacements) and leaving (replacements,
end of life) per year, and what becomes available for reuse (the urban mine)."""),
        new_code_cell("""district = score_district(generate_stock(30, seed=5), library=library)
flows = district.flows()
timeline = flows.timeline()
assert np.allclose(timeline["cumulative_in"], timeline["cumulative_out"] + timeline["in_place"])
print(district.totals())
(timeline[timeline["in"] + timeline["out"] > 0] / 1000).round(1).head(12)"""),
        new_code_cell("""flows.plot(by="material", top=6)
plt.tight_layout()"""),
        new_code_cell("""flows.urban_mine(routes=("reuse", "recycling")).groupby(["route"])["mass_kg"].sum() / 1000"""),
        new_code_cell("""flows.reuse_inventory().head()"""),
    ]
)

designer = new_notebook(
    cells=[
        new_markdown_cell("""# A Flemish terraced house in three variants, built from element templates

A designer's question: *which outer wall?* The terraced house (rijwoning) of
`scenarios/examples/terraced_house_templates.csv` (150 m² GFA, 2 storeys and a pitched roof) is described in
21 CSV lines (15 for envelope and structure, 6 for the building services), one per element: a template from the element catalogue (`scenarios/elements/*.toml`, see
`mpeil elements list`), a quantity and a few parameters. It is scored in three variants that differ only in
the template or the parameters of the outer wall `EW-1` (52.5 m² of façade), everything else equal:

| variant | outer wall EW-1: template and parameters |
|---|---|
| `cavity-mineral-wool` | `EW-cavity-brick`, `insulation=mineral-wool` (12 cm), concrete-block inner leaf: the house as shipped |
| `timber-frame-wood-fibre` | `EW-timber-frame-brick` (houtskeletbouw with a facing-brick outer leaf), `insulation=wood-fibre` |
| `reused-facing-brick` | `EW-cavity-brick` as shipped, with `brick_reused_share=1` (recuperatiesteen) |

`mpeil.compare` scores all three with one method and one library and explains the differences; the plots and
the dossier report follow."""),
        new_code_cell("""%matplotlib inline
import tempfile
from pathlib import Path

import pandas as pd
from IPython.display import display

import mpeil
from mpeil.model.library import load_library
from mpeil.outputs.report import render_report
from mpeil.readers import read_building

HOUSE = "../scenarios/examples/terraced_house_templates.csv"
library = load_library(["obd2024"])          # load once, reuse for every run
house = read_building(HOUSE)
pd.read_csv(HOUSE, keep_default_na=False)[["element_id", "element_quantity", "template", "params"]]"""),
        new_markdown_cell("""## What a template expands to

A template is a build-up with parameters. Its expansion is visible: one line per layer, with the data set
(an ÖKOBAUDAT 2024-I data set of the shipped library, by id), the amount per m² of wall, the service life and
the TOTEM waste category. Here the outer wall as the CSV asks for it; `a`/`b` with a ratio split one layer
between two materials (brick and mortar joints, blocks and joints)."""),
        new_code_cell("""CAVITY = {"insulation": "mineral-wool", "insulation_thickness_m": 0.12, "inner_leaf": "concrete-block"}
columns = ["layer", "composition", "ratio", "name", "dataset_name", "amount", "unit",
           "service_life_years", "waste_category"]
mpeil.elements.expansion("EW-cavity-brick", CAVITY, library=library)[columns]"""),
        new_markdown_cell("""The timber-frame template keeps the facing-brick outer leaf and puts the insulation between the
studs (38 × 184 mm at 600 mm centres, 10 % of the layer) behind wood fibre sheathing, with OSB as air-tight
layer, a service void and plasterboard. `insulation=wood-fibre` swaps the mineral wool for wood fibre.
`mpeil.elements.parameters("EW-timber-frame-brick")` lists what else can be set."""),
        new_code_cell(
            """mpeil.elements.expansion("EW-timber-frame-brick", {"insulation": "wood-fibre"}, library=library)[columns]"""
        ),
        new_markdown_cell("""## Three variants: only the outer wall changes

Each variant is a copy of the house whose `EW-1` is expanded again from a template, with the same quantity.
Reused facing brick is marked as reused input: under the default allocation (`cutoff_d`, EN 15804) it carries
its reconditioning only. The template adds no layer for cleaning the bricks, so here that is nothing,
which flatters this variant a little."""),
        new_code_cell("""def with_outer_wall(building_id, name, template, params):
    \"\"\"The house with its outer wall EW-1 expanded from ``template`` with ``params``.\"\"\"
    wall = next(e for e in house.elements if e.id == "EW-1")
    variant = house.model_copy(deep=True, update={"id": building_id, "name": name})
    new_wall = mpeil.elements.expand(template, params, id="EW-1", quantity=wall.quantity)
    variant.elements = [new_wall if e.id == "EW-1" else e for e in variant.elements]
    return variant


variants = [
    with_outer_wall("cavity-mineral-wool", "Cavity wall, mineral wool", "EW-cavity-brick", CAVITY),
    with_outer_wall("timber-frame-wood-fibre", "Timber frame, wood fibre", "EW-timber-frame-brick",
                    {"insulation": "wood-fibre"}),
    with_outer_wall("reused-facing-brick", "Cavity wall, reused facing brick", "EW-cavity-brick",
                    {**CAVITY, "brick_reused_share": 1.0}),
]
result = mpeil.score(variants, library=library)
comparison = mpeil.compare(result)          # the first building is the baseline
scores = comparison.scores.rename(f"score [{comparison.unit}]").to_frame()
scores["vs cavity-mineral-wool [%]"] = 100.0 * (scores.iloc[:, 0] / scores.iloc[0, 0] - 1.0)
scores.round(4)"""),
        new_code_cell("""print(comparison.explanation)"""),
        new_markdown_cell("""How to read it: the score is the EF 3.1 single score in milli-points per m² gross floor area per
year, over 60 years, for the whole house; only the outer wall differs, so every difference above is `EW-1`.
The explanation names the modules that make the difference: A1-A3 is making the materials, B4 replacing them
during the 60 years, C3/C4 their end of life. It also says when the variants do not cover the same share of
the weighting, because a specific EPD among generic data can declare indicators the others leave missing (here the
OSB of the timber frame is a manufacturer's EPD, Kronospan's).

`comparison.elements` has one row per matched element (by id, then by type) with each variant's
contribution and the differences; `comparison.table` splits them by TOTEM stage."""),
        new_code_cell("""comparison.elements.drop(columns=["key"]).head(4).round(4)"""),
        new_code_cell("""table = comparison.table[comparison.table["key"] == "id:EW-1"].set_index("stage")
table.drop(columns=["key", "label"]).round(4)"""),
        new_markdown_cell("""### Timber frame: where it gains and where it loses

Making the timber-frame wall costs less than the cavity wall in climate change (A1-A3, where the carbon the
wood took up while growing is counted as GWP-biogenic), and its end of life costs more (C3: under TOTEM's
waste shares most wood is incinerated and that carbon goes back to the air). What is left after that round
trip is set against the fossil energy of making wood fibre (ADPF) and against the indicators that only the
OSB's EPD declares (PM and others, named in the explanation above). The template's wood fibre is the generic
wet-process board of 160 kg/m³; flexible wood fibre batts are far lighter (the library holds a manufacturer's
batt of 35 kg/m³), so a batt with its own EPD may change the picture. The difference per indicator (timber
frame − cavity wall) shows where:"""),
        new_code_cell("""by_indicator = result.by_indicator()
delta = by_indicator.loc["timber-frame-wood-fibre"] - by_indicator.loc["cavity-mineral-wool"]
delta.rename(f"Δ timber frame − cavity wall [{comparison.unit}]").sort_values().to_frame().round(4)"""),
        new_markdown_cell("""## Plots

`result.plot` draws with labels and units (score units per m² GFA per year): the stages of each variant, the
waterfall from the cavity wall to the timber frame, the element contributions (Pareto) and the indicators
that make up the single score."""),
        new_code_cell("""display(result.plot.stages().figure)
display(result.plot.waterfall("timber-frame-wood-fibre", baseline="cavity-mineral-wool").figure)
display(result.plot.elements("timber-frame-wood-fibre").figure)
display(result.plot.indicators("cavity-mineral-wool").figure)"""),
        new_code_cell("""result          # the notebook card: score, coverage, stages, top contributors"""),
        new_markdown_cell("""## The report for the dossier

One self-contained HTML file (no network access, printable): per variant the score with its coverage, the
stages, the elements, the flagged data, the assumptions and the provenance, and the variants side by side.
The command line does the same: `mpeil report house-a.csv house-b.csv --out report.html`. Here it goes to a
temporary folder; give it a path of your own to keep it."""),
        new_code_cell("""html = render_report(result, variants=comparison)
out = Path(tempfile.mkdtemp()) / "designer_variants_report.html"
out.write_text(html, encoding="utf-8")
assert "<script" not in html and " src=" not in html and "<link" not in html   # nothing to fetch
print(f"{out}: {len(html) / 1024:.0f} kB")"""),
    ]
)

if __name__ == "__main__":
    nbformat.write(circularity, HERE / "circularity_variants.ipynb")
    print("wrote", HERE / "circularity_variants.ipynb")
    nbformat.write(research, HERE / "research_benchmark.ipynb")
    print("wrote", HERE / "research_benchmark.ipynb")

    nbformat.write(designer, HERE / "designer_variants.ipynb")
    print("wrote", HERE / "designer_variants.ipynb")
