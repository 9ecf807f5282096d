"""Marks the folder as a package: its tests import as ``checkin.tests`` in one pytest run."""
