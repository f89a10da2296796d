"""Extraction sources. Each connector yields ``CsvPage`` objects that destinations load."""

from dagplane.connectors.pages import CsvPage

__all__ = ["CsvPage"]
