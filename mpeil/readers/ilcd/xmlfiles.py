"""ILCD+EPD XML (the ILCD archive soda4LCA nodes such as ÖKOBAUDAT export) → the EPD library.

An ILCD archive keeps one data set per file: ``processes/<uuid>.xml`` holds the EPD (its
module values as ``epd:amount`` elements with an ``epd:module`` and optional ``epd:scenario``
attribute, under ``common:other`` of each ``LCIAResult`` and ``exchange``), while the declared
unit lives three references away: the process's reference exchange → ``flows/<uuid>.xml`` (its
flow properties, and material properties as MatML) → ``flowproperties/<uuid>.xml`` → the
reference unit of ``unitgroups/<uuid>.xml``.

This module turns that tree into the same document shape as the soda4LCA JSON "extended" view
and hands it to :func:`mpeil.readers.ilcd.document.read_ilcd_document`, so XML and JSON are read
by one set of rules. References are resolved by :class:`~mpeil.readers.ilcd.reference.ILCDTree`
(``<uuid>_<version>.xml`` members, with or without ``uri``); flow properties and unit groups an
export leaves out come from the shipped reference data. Element names are matched by local name
(namespace prefixes differ between EPD format versions 1.1 and 1.2). Errors name the file and
the XPath that failed.

The XML ``resultingAmount`` of the reference exchange is kept as ``resultingAmount`` (in the
JSON view, ``resultingflowAmount`` is soda4LCA's product of the amount and the reference flow
property's ``meanValue``; in XML it is the amount alone): the declared amount is computed from
it in :mod:`mpeil.readers.ilcd.declared`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ...errors import ParseError
from .reference import ILCDTree, ReferenceData

__all__ = ["ilcd_xml_document", "is_process_xml", "MASS_PROPERTY_UUID"]

#: ILCD flow property "Mass" (reference UUID), as the JSON reader knows it
MASS_PROPERTY_UUID = "93a60a56-a3c8-11da-a746-0800200b9a66"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(node: ET.Element, name: str) -> str | None:
    for key, value in node.attrib.items():
        if _local(key) == name:
            return value
    return None


def _child(node: ET.Element | None, *path: str) -> ET.Element | None:
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if _local(c.tag) == name), None)
    return node


def _children(node: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if node is None else [c for c in node if _local(c.tag) == name]


def _text(node: ET.Element | None) -> str | None:
    if node is None or node.text is None:
        return None
    return node.text.strip() or None


def _texts(nodes: list[ET.Element]) -> list[dict]:
    return [{"lang": n.get(_XML_LANG, ""), "value": n.text.strip()} for n in nodes if n.text and n.text.strip()]


def _reference(node: ET.Element | None) -> dict:
    if node is None:
        return {}
    return {
        "refObjectId": _attr(node, "refObjectId") or "",
        "uri": _attr(node, "uri") or "",
        "version": _attr(node, "version") or "",
        "shortDescription": _texts(_children(node, "shortDescription")),
    }


def _anies(other: ET.Element | None) -> list[dict]:
    """``common:other`` → the JSON ``anies`` list: module amounts and the unit group reference."""
    anies: list[dict] = []
    for node in list(other) if other is not None else []:
        name = _local(node.tag)
        if name == "amount":
            entry = {"module": _attr(node, "module") or "", "value": _text(node)}
            scenario = _attr(node, "scenario")
            if scenario:
                entry["scenario"] = scenario
            anies.append(entry)
        elif name == "referenceToUnitGroupDataSet":
            anies.append({"name": name, "value": _reference(node)})
        elif name == "subType":
            anies.append({"name": "subType", "value": _text(node)})
    return anies


def _parse(data: bytes, where: dict, expected: str) -> ET.Element:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ParseError(f"not well-formed XML: {exc}", **where) from None
    if _local(root.tag) != expected:
        raise ParseError(f"not an ILCD {expected} (root element is <{_local(root.tag)}>)", **where, field="/")
    return root


def ilcd_xml_document(data: bytes, path: str, tree: ILCDTree) -> dict:
    """One ILCD process XML (``path`` relative to the archive root) → the soda4LCA JSON shape."""
    where = {"file": path}
    root = _parse(data, where, "processDataSet")
    process_info = _child(root, "processInformation")
    info = _child(process_info, "dataSetInformation")
    if info is None:
        raise ParseError("no dataSetInformation", **where, field="/processDataSet/processInformation")
    references = [
        int(t) for t in _ints(_children(_child(process_info, "quantitativeReference"), "referenceToReferenceFlow"))
    ]
    exchanges = [_exchange(node, references, path, tree) for node in _children(_child(root, "exchanges"), "exchange")]
    return {
        "_format": "xml",
        "processInformation": {
            "dataSetInformation": {
                "UUID": _text(_child(info, "UUID")) or "",
                "name": {"baseName": _texts(_children(_child(info, "name"), "baseName"))},
                "classificationInformation": {"classification": _classifications(info)},
            },
            "quantitativeReference": {"referenceToReferenceFlow": references},
            "time": _time(_child(process_info, "time")),
            "geography": {
                "locationOfOperationSupplyOrProduction": {
                    "location": _attr(
                        _child(process_info, "geography", "locationOfOperationSupplyOrProduction") or root, "location"
                    )
                }
            },
        },
        "modellingAndValidation": _modelling(_child(root, "modellingAndValidation")),
        "administrativeInformation": {"publicationAndOwnership": _publication(root)},
        "exchanges": {"exchange": exchanges},
        "LCIAResults": {
            "LCIAResult": [
                {
                    "referenceToLCIAMethodDataSet": _reference(_child(node, "referenceToLCIAMethodDataSet")),
                    "other": {"anies": _anies(_child(node, "other"))},
                }
                for node in _children(_child(root, "LCIAResults"), "LCIAResult")
            ]
        },
    }


def _ints(nodes: list[ET.Element]) -> list[str]:
    return [t for t in (_text(n) for n in nodes) if t is not None and t.isdigit()]


def _classifications(info: ET.Element) -> list[dict]:
    out = []
    for node in _children(_child(info, "classificationInformation"), "classification"):
        classes = [{"level": _attr(c, "level") or "0", "value": _text(c) or ""} for c in _children(node, "class")]
        out.append({"name": _attr(node, "name") or "", "class": classes})
    return out


def _time(node: ET.Element | None) -> dict:
    return {
        key: value for key in ("referenceYear", "dataSetValidUntil") if (value := _text(_child(node, key))) is not None
    }


def _modelling(node: ET.Element | None) -> dict:
    compliance = [
        {"referenceToComplianceSystem": _reference(_child(c, "referenceToComplianceSystem"))}
        for c in _children(_child(node, "complianceDeclarations"), "compliance")
    ]
    method = _child(node, "LCIMethodAndAllocation")
    return {
        "complianceDeclarations": {"compliance": compliance},
        "LCIMethodAndAllocation": {"other": {"anies": _anies(_child(method, "other"))}},
    }


def _publication(root: ET.Element) -> dict:
    node = _child(root, "administrativeInformation", "publicationAndOwnership")
    return {
        "dataSetVersion": _text(_child(node, "dataSetVersion")),
        "referenceToOwnershipOfDataSet": _reference(_child(node, "referenceToOwnershipOfDataSet")),
    }


def _exchange(node: ET.Element, references: list[int], path: str, tree: ILCDTree) -> dict:
    internal = _attr(node, "dataSetInternalID")
    exchange: dict = {
        "dataSetInternalID": int(internal) if internal and internal.isdigit() else -1,
        "referenceToFlowDataSet": _reference(_child(node, "referenceToFlowDataSet")),
        "meanAmount": _text(_child(node, "meanAmount")),
        "resultingAmount": _text(_child(node, "resultingAmount")),
        "other": {"anies": _anies(_child(node, "other"))},
    }
    if exchange["dataSetInternalID"] in references:
        exchange["referenceFlow"] = True
        flow_path = tree.find(path, exchange["referenceToFlowDataSet"], "flows")
        if flow_path is None:
            raise ParseError(
                f"the reference flow {exchange['referenceToFlowDataSet'].get('refObjectId')!r} (declared unit) "
                "is neither in the archive nor in the ILCD+EPD reference data",
                file=path,
                field=f"/processDataSet/exchanges/exchange[@dataSetInternalID={internal}]/referenceToFlowDataSet",
            )
        exchange["flowProperties"], exchange["materialProperties"] = _flow(flow_path, tree)
    return exchange


def _load(path: str, tree: ILCDTree, expected: str) -> ET.Element:
    return _parse(tree.files[path], {"file": path}, expected)


def _flow(path: str, tree: ILCDTree) -> tuple[list[dict], list[dict]]:
    """Flow properties (with the reference unit) and MatML material properties of a flow."""
    root = _load(path, tree, "flowDataSet")
    info = _child(root, "flowInformation")
    reference = _text(_child(info, "quantitativeReference", "referenceToReferenceFlowProperty"))
    properties = []
    for node in _children(_child(root, "flowProperties"), "flowProperty"):
        ref = _reference(_child(node, "referenceToFlowPropertyDataSet"))
        entry: dict = {"uuid": ref["refObjectId"], "meanValue": _text(_child(node, "meanValue"))}
        if _attr(node, "dataSetInternalID") == reference:
            entry["referenceFlowProperty"] = True
            entry["referenceUnit"] = _reference_unit(path, ref, tree)
        properties.append(entry)
    if not any(p.get("referenceFlowProperty") for p in properties):
        raise ParseError(
            "the flow names no reference flow property",
            file=path,
            field="/flowDataSet/flowInformation/quantitativeReference/referenceToReferenceFlowProperty",
        )
    return properties, _matml(_child(info, "dataSetInformation", "other"))


def _reference_unit(flow_path: str, reference: dict, tree: ILCDTree) -> str:
    """Reference unit of a flow property: from the archive, else from the shipped reference data."""
    shipped = ReferenceData.shipped()
    uuid = reference["refObjectId"].lower()
    path = tree.find(flow_path, reference, "flowproperties")
    if path is None:
        if uuid in shipped.flow_property_unit:
            return shipped.flow_property_unit[uuid]
        raise ParseError(
            f"flow property {uuid!r} is neither in the archive nor in the ILCD+EPD reference data",
            file=flow_path,
            field="/flowDataSet/flowProperties/flowProperty/referenceToFlowPropertyDataSet",
        )
    root = _load(path, tree, "flowPropertyDataSet")
    group = _reference(
        _child(root, "flowPropertiesInformation", "quantitativeReference", "referenceToReferenceUnitGroup")
    )
    unit_path = tree.find(path, group, "unitgroups")
    if unit_path is None:
        unit = shipped.unit_group_unit.get(group.get("refObjectId", "").lower()) or shipped.flow_property_unit.get(uuid)
        if unit:
            return unit
        raise ParseError(
            f"unit group {group.get('refObjectId')!r} is neither in the archive nor in the reference data",
            file=path,
            field="/flowPropertyDataSet/flowPropertiesInformation/quantitativeReference/referenceToReferenceUnitGroup",
        )
    return _unit_group_reference(unit_path, tree)


def _unit_group_reference(path: str, tree: ILCDTree) -> str:
    units = _load(path, tree, "unitGroupDataSet")
    wanted = _text(_child(units, "unitGroupInformation", "quantitativeReference", "referenceToReferenceUnit"))
    for unit in _children(_child(units, "units"), "unit"):
        if _attr(unit, "dataSetInternalID") == wanted:
            name = _text(_child(unit, "name"))
            if name:
                return name
    raise ParseError(
        f"unit group has no unit with dataSetInternalID {wanted!r}",
        file=path,
        field="/unitGroupDataSet/units/unit",
    )


def _matml(other: ET.Element | None) -> list[dict]:
    """MatML_Doc material properties → ``[{"name", "value", "unit"}]`` as the JSON view gives them."""
    doc = _child(other, "MatML_Doc")
    if doc is None:
        return []
    details = {
        _attr(d, "id"): (_text(_child(d, "Name")) or "", _attr(_child(d, "Units") or d, "name") or "")
        for d in _children(_child(doc, "Metadata"), "PropertyDetails")
    }
    out = []
    for data in _children(_child(doc, "Material", "BulkDetails"), "PropertyData"):
        name, unit = details.get(_attr(data, "property"), ("", ""))
        value = _text(_child(data, "Data"))
        if name and value is not None:
            out.append({"name": name, "value": value, "unit": unit})
    return out


def is_process_xml(data: bytes) -> bool:
    """True when the root element of an XML file is an ILCD ``processDataSet`` (read from its head)."""
    head = data[:4096].decode("utf-8", errors="ignore")
    head = re.sub(r"<\?.*?\?>|<!--.*?-->", "", head, flags=re.S)
    match = re.search(r"<\s*(?:[A-Za-z0-9_]+:)?([A-Za-z]+)[\s>]", head)
    return match is not None and match.group(1) == "processDataSet"
