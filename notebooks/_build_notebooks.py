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

designer = new_notebook(
    cells=[
        new_markdown_cell("""# A Flemish terraced house in three variants

A designer's question: *which outer wall?* The shipped terraced house (`scenarios/examples/terraced_house.json`,
150 m² GFA, 2 storeys and a pitched roof) is scored in three variants of its outer wall `EW-1`, everything
else equal:

| variant | outer wall EW-1 (outside → inside) |
|---|---|
| `cavity-mineral-wool` | facing brick, 12 cm mineral wool, 14 cm concrete blocks, gypsum plaster (the example as shipped) |
| `timber-frame-wood-fibre` | facing brick, 6 cm wood fibre board, 18.4 cm timber studs filled with wood fibre, OSB, PE vapour control, gypsum board |
| `reused-facing-brick` | the cavity wall, with second-hand facing brick (`reused_input = 1`) |

Every layer names an ÖKOBAUDAT 2024-I generic data set of the shipped library by id, so the numbers can be
traced. `mpeil.compare` scores all three with one method and one library and explains the differences; the
plots and the dossier report follow."""),
        new_code_cell("""%matplotlib inline
import tempfile
from pathlib import Path

from IPython.display import display

import mpeil
from mpeil.model import Element, Layer
from mpeil.model.library import load_library
from mpeil.readers import read_building

library = load_library(["obd2024"])          # load once, reuse for every run
house = read_building("../scenarios/examples/terraced_house.json")
cavity = house.model_copy(deep=True, update={"id": "cavity-mineral-wool", "name": "Cavity wall, mineral wool"})
wall = next(e for e in cavity.elements if e.id == "EW-1")
print(wall.name, "-", wall.quantity, wall.unit)
[(layer.layer, layer.name, layer.amount, layer.unit) for layer in wall.layers]"""),
        new_markdown_cell("""## Variant 2: timber frame with wood fibre

The same 52.5 m² of façade. Studs 38 × 184 mm at 600 mm centres take 10 % of the insulated layer (composition
`a`, ratio 0.1) and wood fibre the other 90 % (composition `b`). The shipped library has one generic wood
fibre data set, a board of 160 kg/m³ (wet process); flexible wood fibre batts are lighter, so this is on the
safe side. OSB is Kronospan's EPD, the only OSB in the library."""),
        new_code_cell("""OBD = "obd2024:"
def layer(product, amount, unit, position, name, waste, life=60.0, **more):
    return Layer(product=OBD + product, amount=amount, unit=unit, layer=position, name=name,
                 service_life_years=life, transport="BE-default", waste_category=waste, **more)

brick_and_ties = [l for l in wall.layers if l.layer in ("C1", "C2")]          # facing brick, mortar, wall ties
finish = [l for l in wall.layers if l.name == "interior dispersion paint, 2 coats"]
wood, composite = "Untreated, uncontaminated wood", "Composite wood products (OSB, chipboard, MDF)"
timber_wall = Element(
    id="EW-1", name="Timber frame: facing brick, wood fibre, OSB, gypsum board", element_type="EW",
    nl_sfb="21", quantity=wall.quantity,
    layers=[*[l.model_copy() for l in brick_and_ties],
            layer("c91aa879-2826-4078-8bfa-baae349549cb", 0.06, "m", "C3", "wood fibre sarking board", "Organic insulation"),
            layer("6b363ddc-f127-4d44-9f4b-54daada07465", 0.184, "m", "C4", "timber studs 38 x 184 mm", wood, ratio=0.1),
            layer("c91aa879-2826-4078-8bfa-baae349549cb", 0.184, "m", "C4", "wood fibre between the studs",
                  "Organic insulation", composition="b", ratio=0.9),
            layer("22527f3b-5985-41a7-8028-655142979cfd", 0.015, "m", "C5", "OSB 15 mm", composite),
            layer("6869f7c1-1b2b-4f30-afc9-823a0104f1d9", 1.1, "m2", "C6", "PE vapour control (with overlaps)",
                  "Polyolefins (PP, PE)"),
            layer("46c055f0-84a2-423b-ae82-5264886e51ad", 1.0, "m2", "C7", "gypsum board 12.5 mm",
                  "Gypsum elements (plasterboard, blocks, Ca-silicate)", life=40.0),
            *[l.model_copy(update={"layer": "C8"}) for l in finish]],
)
timber = cavity.model_copy(deep=True, update={"id": "timber-frame-wood-fibre", "name": "Timber frame, wood fibre"})
timber.elements = [timber_wall if e.id == "EW-1" else e for e in timber.elements]"""),
        new_markdown_cell("""## Variant 3: reused facing brick

The cavity wall as shipped, with second-hand facing brick. Under the default allocation (`cutoff_d`, EN 15804)
a reused input carries its reconditioning only; the library has no data set for cleaning bricks, so here that
is nothing, which flatters this variant a little."""),
        new_code_cell("""reused = cavity.model_copy(deep=True, update={"id": "reused-facing-brick", "name": "Cavity wall, reused brick"})
for l in next(e for e in reused.elements if e.id == "EW-1").layers:
    if l.name == "facing brick":
        l.reused_input = 1.0

comparison = mpeil.compare(cavity, timber, reused, library=library)
print(comparison.explanation)"""),
        new_markdown_cell("""With the shipped generic data the timber frame scores *higher* than the cavity wall. The only
generic wood fibre data set is a dense wet-process board (160 kg/m³), which takes much energy to make
(A1-A3), and under TOTEM's waste shares wood-based layers are mostly incinerated at the end of life (C3).
A lighter wood fibre batt with its own EPD would change the picture, and the explanation says where to
look. The reused brick saves the brick's production (A1-A3) and nothing else."""),
        new_markdown_cell("""`comparison.elements` has one row per matched element (by id, then by type) with each variant's
contribution and the differences; `comparison.table` splits them by TOTEM stage."""),
        new_code_cell("""comparison.elements.drop(columns=["key"]).head(4).round(4)"""),
        new_code_cell("""table = comparison.table[comparison.table["key"] == "id:EW-1"].set_index("stage")
table.drop(columns=["key", "label"]).round(4)"""),
        new_markdown_cell("""## Plots

`result.plot` draws with labels and units (score units per m² GFA per year)."""),
        new_code_cell("""result = mpeil.score([cavity, timber, reused], library=library)
display(result.plot.stages().figure)
display(result.plot.waterfall("timber-frame-wood-fibre", baseline="cavity-mineral-wool").figure)
display(result.plot.elements("timber-frame-wood-fibre").figure)"""),
        new_code_cell("""result          # the notebook card: score, coverage, stages, top contributors"""),
        new_markdown_cell("""## The report for the dossier

One self-contained HTML file (no network access, printable): per variant the score with its coverage,
the stages, the elements, the flagged data, the assumptions and the provenance, and the variants side by
side. The command line does the same: `mpeil report house-a.json house-b.json --out report.html`."""),
        new_code_cell("""html = result.to_html(variants=["cavity-mineral-wool", "timber-frame-wood-fibre", "reused-facing-brick"])
out = Path(tempfile.mkdtemp()) / "designer_variants_report.html"
out.write_text(html, encoding="utf-8")
assert "<script" not in html and " src=" not in html and "<link" not in html   # nothing to fetch
print(f"{out}: {len(html) / 1024:.0f} kB")"""),
    ]
)

if __name__ == "__main__":
    nbformat.write(circularity, HERE / "circularity_variants.ipynb")
    print("wrote", HERE / "circularity_variants.ipynb")
    nbformat.write(designer, HERE / "designer_variants.ipynb")
    print("wrote", HERE / "designer_variants.ipynb")
