"""Readers and writers: building files (JSON, CSV, XLSX) and EPD source files."""

from .buildings import read_building, read_buildings, write_building

__all__ = ["read_building", "read_buildings", "write_building"]
