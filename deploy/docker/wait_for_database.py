"""Init container: wait until a service's database exists and has been migrated.

    python wait_for_database.py lindung_checkin.settings [--timeout SECONDS]

The service's own ``Settings`` say which database (``DATABASE_URL`` + ``database_name``), so
the check reads exactly what the process will. "Migrated" means the ``alembic_version`` table
holds at least one revision: the bootstrap Job (``lindung bootstrap``) has run. Exit 0 when
ready, 1 on timeout (0 = wait forever). Never prints the URL (it holds the password).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import time

import asyncpg


async def migrated(dsn: str) -> bool:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        exists = await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        return bool(exists) and bool(
            await connection.fetchval("SELECT count(*) FROM alembic_version")
        )
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings_module", help="e.g. lindung_checkin.settings")
    parser.add_argument("--timeout", type=float, default=0.0, help="seconds; 0 waits forever")
    parser.add_argument("--interval", type=float, default=3.0)
    args = parser.parse_args(argv)
    settings = importlib.import_module(args.settings_module).Settings()
    dsn = settings.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    while True:
        try:
            if asyncio.run(migrated(dsn)):
                print(f"database {settings.database_name}: migrated", flush=True)
                return 0
            reason = "not migrated yet"
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            reason = type(exc).__name__
        print(f"waiting for database {settings.database_name}: {reason}", flush=True)
        if deadline is not None and time.monotonic() + args.interval > deadline:
            return 1
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
