"""Pure rules: PPKM level colours and the effective capacity of a venue."""

from __future__ import annotations

from typing import Literal

Colour = Literal["green", "yellow", "orange", "red"]

LEVEL_COLOURS: dict[int, Colour] = {1: "green", 2: "yellow", 3: "orange", 4: "red"}
#: A regency whose level was never set counts as level 1.
DEFAULT_LEVEL = 1
#: A category without a rule may use its full capacity at every level.
DEFAULT_PERCENT = 100


def colour_of(level: int) -> Colour:
    return LEVEL_COLOURS[level]


def effective_capacity(capacity: int, percent: int) -> int:
    """floor(capacity * percent / 100), and never below one person."""
    if capacity <= 0:
        raise ValueError("capacity must be positive")
    if not 1 <= percent <= 100:
        raise ValueError("percent must be between 1 and 100")
    return max(1, capacity * percent // 100)
