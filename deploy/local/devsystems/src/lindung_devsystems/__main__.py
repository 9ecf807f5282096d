"""``python -m lindung_devsystems``: serve the development external systems."""

from __future__ import annotations

import logging

import uvicorn

from lindung_devsystems.app import create_app
from lindung_devsystems.settings import DevSystemsSettings


def main() -> None:
    settings = DevSystemsSettings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # Access logs off: request lines would carry phone numbers (query strings).
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level="info",
    )


if __name__ == "__main__":
    main()
