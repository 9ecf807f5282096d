"""Exposure matching: from a confirmed case to every close contact, exactly once."""
