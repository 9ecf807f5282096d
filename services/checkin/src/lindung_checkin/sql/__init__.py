"""The check-in database's functions, each in one file: the door's rules readable in one place.

``<name>.sql`` holds the CURRENT text of each function (``CREATE OR REPLACE FUNCTION ...``);
``versions/<name>.<revision>.sql`` holds an earlier text, as the migration ``<revision>``
installed it. Migrations reference these files instead of carrying (or patching) the text:

- the migration that installs the current text calls :func:`current` with the text's pinned
  digest, so editing a current file without a migration fails every migration run (and so
  every test) with the instructions below;
- to change a function: move the current text to ``versions/<name>.<revision>.sql`` (the
  revision that installs it), point that migration at :func:`version`, edit ``<name>.sql``
  and install it from a new migration with :func:`current` and the new digest (the error
  message prints it).

The door's decision (``checkin_scan``) also has a pure-Python model,
:mod:`lindung_checkin.checkins.rules`, held to the SQL by a property test.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).parent


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def current(name: str, pinned: str) -> str:
    """The current text of function ``name``, which the calling migration pinned."""
    text = (HERE / f"{name}.sql").read_text()
    if digest(text) != pinned:
        raise RuntimeError(
            f"sql/{name}.sql changed since the migration that installs it was written "
            f"(digest {digest(text)}, pinned {pinned}). Keep the installed text as "
            f"sql/versions/{name}.<that revision>.sql, point that migration at it, and install "
            f"the new text from a new migration with current({name!r}, {digest(text)!r})."
        )
    return text


def version(name: str, revision: str) -> str:
    """The text of ``name`` as migration ``revision`` installed it."""
    return (HERE / "versions" / f"{name}.{revision}.sql").read_text()
