"""Marks the folder as a package so its tests import as ``shared.tests`` (unique in one pytest run)."""
