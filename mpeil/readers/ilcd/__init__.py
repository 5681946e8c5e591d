"""ILCD+EPD data sets (soda4LCA JSON views and XML exports) → the EPD library.

Point :func:`read_ilcd` at your own JSON downloads (e.g. from ÖKOBAUDAT
``…/resource/processes/<uuid>?format=json&view=extended``, EPD Norge, EPD International or the
ECO Platform), or ``mpeil epd import`` at XML export archives and folders.

Modules: :mod:`.files` (files and trees of files), :mod:`.document` (one process document →
a data set, its values and its losses), :mod:`.declared` (declared unit and conversion
properties), :mod:`.cells` (numbers, *not declared* markers, ranges), :mod:`.aliases`
(indicators and units by meaning), :mod:`.xmlfiles` (XML → the JSON document shape),
:mod:`.reference` (resolving references; the shipped ILCD+EPD reference units).
"""

from __future__ import annotations

from .aliases import IndicatorAliases, unit_key
from .document import parse_ilcd_document, read_ilcd_document
from .files import ILCDFileResult, ilcd_files, read_ilcd, read_ilcd_file, read_ilcd_frames, read_ilcd_tree
from .reference import ILCDTree, ReferenceData
from .xmlfiles import ilcd_xml_document, is_process_xml

__all__ = [
    "IndicatorAliases",
    "unit_key",
    "parse_ilcd_document",
    "read_ilcd_document",
    "ILCDFileResult",
    "ilcd_files",
    "read_ilcd",
    "read_ilcd_file",
    "read_ilcd_frames",
    "read_ilcd_tree",
    "ILCDTree",
    "ReferenceData",
    "ilcd_xml_document",
    "is_process_xml",
]
