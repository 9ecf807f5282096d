"""Marks the folder as a package so its tests import as ``checkin.tests`` (unique in one pytest run)."""
