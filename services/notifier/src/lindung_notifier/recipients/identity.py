"""Whose inbox, devices and preferences a token reaches.

Citizens are addressed by their person id (the token's subject); venue managers by their
manager id in a namespace of their own (``manager:<id>``), so that a manager token whose
subject happens to equal a person id never reaches that person's inbox, devices or
preferences (both ids are free-form strings minted by different issuers).
"""

from __future__ import annotations

from lindung_shared.auth import Principal, Role

MANAGER_PREFIX = "manager:"


def manager_recipient(manager_id: str) -> str:
    return MANAGER_PREFIX + manager_id


def recipient_of(principal: Principal) -> str:
    """A citizen token reaches its person's inbox; any other (a venue manager's) its own."""
    if principal.has(Role.CITIZEN):
        return principal.subject
    return manager_recipient(principal.subject)
