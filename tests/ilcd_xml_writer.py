"""Test helper: write an ILCD+EPD archive (process, flow, flow-property and unit-group XML) from
a soda4LCA JSON process data set, laid out as an ILCD export is (``ILCD/processes/…``).

The XML follows the ILCD 1.1 schemas with the EPD extension (namespace of EPD format 1.1);
only the fields mpeil reads are written. The test then checks that the XML reader gives the
same library as the independent JSON path.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

NS = (
    'xmlns:common="http://lca.jrc.it/ILCD/Common" xmlns:epd="http://www.iai.kit.edu/EPD/2013" '
    'xmlns:matML="http://www.matml.org/"'
)


def _texts(tag: str, items) -> str:
    if isinstance(items, dict):
        items = [items]
    return "".join(
        f"<{tag} xml:lang={quoteattr(i.get('lang', 'en'))}>{escape(str(i['value']))}</{tag}>"
        for i in items or []
        if i.get("value")
    )


def _ref(tag: str, ref: dict, uri: str | None = None) -> str:
    uri = uri if uri is not None else ref.get("uri", "")
    return (
        f"<{tag} type={quoteattr(ref.get('type', ''))} refObjectId={quoteattr(ref.get('refObjectId', ''))} "
        f"uri={quoteattr(uri)}>{_texts('common:shortDescription', ref.get('shortDescription'))}</{tag}>"
    )


def _other(anies) -> str:
    parts = []
    for a in anies or []:
        if "module" in a:
            scenario = f" epd:scenario={quoteattr(a['scenario'])}" if a.get("scenario") else ""
            value = "" if a.get("value") is None else escape(str(a["value"]))
            parts.append(f"<epd:amount epd:module={quoteattr(a['module'])}{scenario}>{value}</epd:amount>")
        elif a.get("name") == "referenceToUnitGroupDataSet":
            parts.append(_ref("epd:referenceToUnitGroupDataSet", a["value"]))
        elif a.get("name") == "subType" and a.get("value"):
            parts.append(f"<epd:subType>{escape(str(a['value']))}</epd:subType>")
    return f"<common:other>{''.join(parts)}</common:other>" if parts else ""


def _flow_xml(uuid: str, exchange: dict) -> tuple[str, list[tuple[str, str, str]]]:
    """Flow XML and, per flow property, (flow-property uuid, unit group uuid, unit name)."""
    properties, support = [], []
    for i, prop in enumerate(exchange.get("flowProperties") or []):
        fp = prop["uuid"]
        unit = prop.get("referenceUnit") or "kg"
        group = prop.get("unitGroupUUID") or f"ug-{fp}"
        support.append((fp, group, unit))
        properties.append(
            f'<flowProperty dataSetInternalID="{i}">'
            f'<referenceToFlowPropertyDataSet type="flow property data set" refObjectId="{fp}" '
            f'uri="../flowproperties/{fp}.xml"/><meanValue>{prop.get("meanValue", 1.0)}</meanValue></flowProperty>'
        )
    reference = next(i for i, p in enumerate(exchange["flowProperties"]) if p.get("referenceFlowProperty"))
    matml = ""
    if exchange.get("materialProperties"):
        data = "".join(
            f'<matML:PropertyData property="pr{i}"><matML:Data format="float">{escape(str(m["value"]))}</matML:Data>'
            "</matML:PropertyData>"
            for i, m in enumerate(exchange["materialProperties"])
        )
        details = "".join(
            f'<matML:PropertyDetails id="pr{i}"><matML:Name>{escape(m["name"])}</matML:Name>'
            f"<matML:Units name={quoteattr(m.get('unit', ''))}/></matML:PropertyDetails>"
            for i, m in enumerate(exchange["materialProperties"])
        )
        matml = (
            "<common:other><matML:MatML_Doc><matML:Material><matML:BulkDetails><matML:Name>x</matML:Name>"
            f"{data}</matML:BulkDetails></matML:Material><matML:Metadata>{details}</matML:Metadata>"
            "</matML:MatML_Doc></common:other>"
        )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><flowDataSet xmlns="http://lca.jrc.it/ILCD/Flow" {NS} version="1.1">'
        f"<flowInformation><dataSetInformation><common:UUID>{uuid}</common:UUID>{matml}</dataSetInformation>"
        f"<quantitativeReference><referenceToReferenceFlowProperty>{reference}</referenceToReferenceFlowProperty>"
        f"</quantitativeReference></flowInformation><flowProperties>{''.join(properties)}</flowProperties></flowDataSet>"
    )
    return xml, support


def _support_files(root: Path, support: list[tuple[str, str, str]]) -> None:
    for fp, group, unit in support:
        (root / "flowproperties" / f"{fp}.xml").write_text(
            '<?xml version="1.0"?><flowPropertyDataSet xmlns="http://lca.jrc.it/ILCD/FlowProperty" '
            f"{NS}><flowPropertiesInformation><quantitativeReference><referenceToReferenceUnitGroup "
            f'type="unit group data set" refObjectId="{group}" uri="../unitgroups/{group}.xml"/>'
            "</quantitativeReference></flowPropertiesInformation></flowPropertyDataSet>",
            encoding="utf-8",
        )
        (root / "unitgroups" / f"{group}.xml").write_text(
            '<?xml version="1.0"?><unitGroupDataSet xmlns="http://lca.jrc.it/ILCD/UnitGroup" '
            f"{NS}><unitGroupInformation><quantitativeReference><referenceToReferenceUnit>0"
            "</referenceToReferenceUnit></quantitativeReference></unitGroupInformation>"
            f'<units><unit dataSetInternalID="0"><name>{escape(unit)}</name><meanValue>1.0</meanValue></unit></units>'
            "</unitGroupDataSet>",
            encoding="utf-8",
        )


def _exchange_xml(exchange: dict) -> str:
    ref = exchange["referenceToFlowDataSet"]
    uri = f"../flows/{ref['refObjectId']}.xml"
    # XML resultingAmount is the exchange amount alone; the JSON view's resultingflowAmount is
    # that amount × the reference flow property's meanValue (written into the flow file)
    amount = exchange.get("meanAmount") if exchange.get("resultingflowAmount") is not None else None
    resulting = "" if amount is None else f"<resultingAmount>{amount}</resultingAmount>"
    return (
        f'<exchange dataSetInternalID="{exchange.get("dataSetInternalID", -1)}">'
        f"{_ref('referenceToFlowDataSet', ref, uri)}<meanAmount>{exchange.get('meanAmount', 1.0)}</meanAmount>"
        f"{resulting}{_other((exchange.get('other') or {}).get('anies'))}</exchange>"
    )


def write_ilcd_archive(json_file: Path, root: Path) -> Path:
    """Write one JSON process data set as ILCD XML under ``root`` (processes/, flows/, …)."""
    doc = json.loads(Path(json_file).read_text(encoding="utf-8"))
    for folder in ("processes", "flows", "flowproperties", "unitgroups"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    pi = doc["processInformation"]
    info = pi["dataSetInformation"]
    classes = ""
    for c in (info.get("classificationInformation") or {}).get("classification") or []:
        inner = "".join(
            f'<common:class level="{k.get("level", 0)}">{escape(str(k.get("value", "")))}</common:class>'
            for k in c.get("class") or []
        )
        classes += f"<common:classification name={quoteattr(c.get('name', ''))}>{inner}</common:classification>"
    exchanges = (doc.get("exchanges") or {}).get("exchange") or []
    reference_ids = (pi.get("quantitativeReference") or {}).get("referenceToReferenceFlow") or []
    reference_ids = reference_ids if isinstance(reference_ids, list) else [reference_ids]
    for exchange in exchanges:
        if exchange.get("referenceFlow") or exchange.get("dataSetInternalID") in reference_ids:
            flow_uuid = exchange["referenceToFlowDataSet"]["refObjectId"]
            xml, support = _flow_xml(flow_uuid, exchange)
            (root / "flows" / f"{flow_uuid}.xml").write_text(xml, encoding="utf-8")
            _support_files(root, support)
    compliance = "".join(
        f"<compliance>{_ref('common:referenceToComplianceSystem', c.get('referenceToComplianceSystem') or {})}</compliance>"
        for c in ((doc.get("modellingAndValidation") or {}).get("complianceDeclarations") or {}).get("compliance") or []
    )
    method = ((doc.get("modellingAndValidation") or {}).get("LCIMethodAndAllocation") or {}).get("other") or {}
    time = pi.get("time") or {}
    publication = (doc.get("administrativeInformation") or {}).get("publicationAndOwnership") or {}
    lcia = "".join(
        f"<LCIAResult>{_ref('referenceToLCIAMethodDataSet', r['referenceToLCIAMethodDataSet'])}"
        f"<meanAmount>0</meanAmount>{_other((r.get('other') or {}).get('anies'))}</LCIAResult>"
        for r in (doc.get("LCIAResults") or {}).get("LCIAResult") or []
    )
    location = ((pi.get("geography") or {}).get("locationOfOperationSupplyOrProduction") or {}).get("location")
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><processDataSet xmlns="http://lca.jrc.it/ILCD/Process" {NS} '
        'version="1.1"><processInformation><dataSetInformation>'
        f"<common:UUID>{info['UUID']}</common:UUID>"
        f"<name>{_texts('baseName', (info.get('name') or {}).get('baseName'))}</name>"
        f"<classificationInformation>{classes}</classificationInformation></dataSetInformation>"
        + "".join(
            f"<quantitativeReference><referenceToReferenceFlow>{i}</referenceToReferenceFlow></quantitativeReference>"
            for i in reference_ids[:1]
        )
        + "<time>"
        + "".join(
            f"<common:{k}>{escape(str(time[k]))}</common:{k}>"
            for k in ("referenceYear", "dataSetValidUntil")
            if time.get(k)
        )
        + "</time>"
        + (f'<geography><locationOfOperationSupplyOrProduction location="{location}"/></geography>' if location else "")
        + "</processInformation><modellingAndValidation><LCIMethodAndAllocation>"
        + _other(method.get("anies"))
        + f"</LCIMethodAndAllocation><complianceDeclarations>{compliance}</complianceDeclarations></modellingAndValidation>"
        + "<administrativeInformation><publicationAndOwnership>"
        + (
            f"<common:dataSetVersion>{publication['dataSetVersion']}</common:dataSetVersion>"
            if publication.get("dataSetVersion")
            else ""
        )
        + _ref("common:referenceToOwnershipOfDataSet", publication.get("referenceToOwnershipOfDataSet") or {})
        + f"</publicationAndOwnership></administrativeInformation><exchanges>{''.join(_exchange_xml(e) for e in exchanges)}"
        + f"</exchanges><LCIAResults>{lcia}</LCIAResults></processDataSet>"
    )
    path = root / "processes" / f"{info['UUID']}.xml"
    path.write_text(xml, encoding="utf-8")
    return path
