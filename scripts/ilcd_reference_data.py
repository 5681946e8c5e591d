"""Build data/ilcd/flow_properties.csv and unit_groups.csv from the ILCD+EPD reference data.

Usage: ``python scripts/ilcd_reference_data.py ilcd_epd_ref.zip data/ilcd``

The archive is cchangelabs/ilcdlib's ``src/ilcdlib/data/ilcd_epd_ref.zip`` (Apache-2.0): the
flow properties and unit groups that ILCD+EPD exports refer to without carrying them. Only
what the declared unit needs is kept: per flow property its unit group and that group's
reference unit, per unit group its reference unit and every unit with its factor.
"""

from __future__ import annotations

import csv
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(node: ET.Element | None, *names: str) -> ET.Element | None:
    for name in names:
        if node is None:
            return None
        node = next((c for c in node if _local(c.tag) == name), None)
    return node


def _english(node: ET.Element, name: str) -> str:
    texts = {
        c.get("{http://www.w3.org/XML/1998/namespace}lang", ""): (c.text or "").strip()
        for c in node
        if _local(c.tag) == name
    }
    return texts.get("en") or next(iter(texts.values()), "")


def main(archive: str, out: str) -> None:
    groups: dict[str, dict] = {}
    properties: list[dict] = []
    with zipfile.ZipFile(archive) as zf:
        for name in sorted(zf.namelist()):
            if "/unitgroups/" in name and name.endswith(".xml"):
                root = ET.fromstring(zf.read(name))
                info = _find(root, "unitGroupInformation", "dataSetInformation")
                wanted = (
                    _find(root, "unitGroupInformation", "quantitativeReference", "referenceToReferenceUnit").text or ""
                ).strip()
                units = [u for u in _find(root, "units") or [] if _local(u.tag) == "unit"]
                ref = next(u for u in units if u.get("dataSetInternalID") == wanted)
                groups[_find(info, "UUID").text.strip()] = {
                    "name": _english(info, "name"),
                    "reference_unit": _find(ref, "name").text.strip(),
                    "units": "; ".join(
                        f"{_find(u, 'name').text.strip()}={_find(u, 'meanValue').text.strip()}" for u in units
                    ),
                }
        for name in sorted(zf.namelist()):
            if "/flowproperties/" in name and name.endswith(".xml"):
                root = ET.fromstring(zf.read(name))
                info = _find(root, "flowPropertiesInformation", "dataSetInformation")
                group = _find(
                    root, "flowPropertiesInformation", "quantitativeReference", "referenceToReferenceUnitGroup"
                )
                uuid = group.get("refObjectId")
                if uuid not in groups:  # its unit group is not in the reference data
                    continue
                properties.append(
                    {
                        "uuid": _find(info, "UUID").text.strip(),
                        "name": _english(info, "name"),
                        "unit_group_uuid": uuid,
                        "reference_unit": groups[uuid]["reference_unit"],
                    }
                )
    folder = Path(out)
    with open(folder / "unit_groups.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["uuid", "name", "reference_unit", "units"])
        for uuid, row in sorted(groups.items()):
            writer.writerow([uuid, row["name"], row["reference_unit"], row["units"]])
    with open(folder / "flow_properties.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["uuid", "name", "unit_group_uuid", "reference_unit"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(sorted(properties, key=lambda r: r["uuid"]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
