"""Marks the folder as a package: its tests import as ``shared.tests`` in one pytest run."""
