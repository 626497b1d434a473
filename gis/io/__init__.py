"""Bringing data in and out: readers, column mapping, the dry-run report, the load, export.

``gridgov import`` / ``gridgov export`` (gridgov/commands_data.py) are thin wrappers around
:func:`gis.io.importer.prepare` (the dry run), :func:`gis.io.importer.run` (the load) and
:func:`gis.io.export.export_layer`.
See docs/data-io.md.
"""
