"""``lindung``: operator and developer commands.

- ``lindung token --role ROLE --subject ID [--venue ID]... [--jurisdiction J]``: a development
  access token (a health officer's needs ``--jurisdiction national|provinces:32|regencies:3273``).
- ``lindung bootstrap``: create and migrate every service's database, create Kafka topics.
- ``lindung topics``: create the catalogue's Kafka topics.
- ``lindung feeds import FILE...``: a bulk NDJSON import into health-records, with progress
  bars (:mod:`lindung_shared.feed_import`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

# Imports are made where they are needed: `lindung token` loads neither the web framework nor
# the database and Kafka clients, and answers in a fraction of a second.

ROLES = ("citizen", "venue_manager", "health_officer", "admin", "feed", "service")


def keys_dir_problem(keys_dir: Path) -> str | None:
    """Why ``keys_dir`` must not be used for new development keys, or None. Keys are never
    made silently outside the project: a token signed by a fresh key that no running service
    knows would be refused everywhere."""
    if os.environ.get("LINDUNG_KEYS_DIR") or (keys_dir / "auth-dev-private.pem").exists():
        return None
    root = keys_dir.parent
    if (root / "services").is_dir() and (root / "shared").is_dir():
        return None
    return (
        f"no development keys at {keys_dir} and it is not in a Lindung checkout; "
        "set LINDUNG_KEYS_DIR to the project's .keys directory"
    )


def _token(args: argparse.Namespace) -> int:
    from lindung_shared.settings import ServiceSettings
    from lindung_shared.tokens import TokenIssuer

    settings = ServiceSettings()
    if not settings.is_development:
        print("lindung token only works in development (LINDUNG_ENV=development)", file=sys.stderr)
        return 2
    problem = keys_dir_problem(settings.keys_dir)
    if problem:
        print(f"lindung token: {problem}", file=sys.stderr)
        return 2
    jurisdiction = None
    if args.jurisdiction:
        from lindung_shared.jurisdiction import Jurisdiction

        try:
            jurisdiction = Jurisdiction.parse(args.jurisdiction)
        except ValueError as exc:
            print(f"lindung token: --jurisdiction: {exc}", file=sys.stderr)
            return 2
    elif "health_officer" in args.role:
        print(
            "lindung token: a health officer needs --jurisdiction "
            "(national, provinces:32 or regencies:3273,3171)",
            file=sys.stderr,
        )
        return 2
    issuer = TokenIssuer.development(settings)
    print(
        issuer.issue(
            subject=args.subject,
            roles=args.role,
            venues=args.venue or (),
            ttl_seconds=args.ttl,
            jurisdiction=jurisdiction,
        )
    )
    return 0


async def _bootstrap_async(only_topics: bool) -> None:
    from lindung_shared.dbadmin import create_database
    from lindung_shared.events import TOPICS
    from lindung_shared.kafka import ensure_topics
    from lindung_shared.manifest import installed_services
    from lindung_shared.migrations import upgrade
    from lindung_shared.settings import ServiceSettings, with_database

    settings = ServiceSettings()
    if not only_topics:
        for manifest in installed_services():
            created = await create_database(settings.server_url, manifest.database_name)
            url = with_database(
                settings.database_url, manifest.database_name, driver="postgresql+asyncpg"
            )
            await asyncio.to_thread(upgrade, manifest.migrations_dir, url)
            print(f"database {manifest.database_name}: {'created and ' if created else ''}migrated")
    created_topics = await ensure_topics(settings.kafka_bootstrap_servers)
    print(f"kafka topics: {len(TOPICS)} in the catalogue, {len(created_topics)} created")
    if settings.kafka_security_protocol != "PLAINTEXT":
        # The brokers authenticate: each service its own principal (lindung_shared.kafka.acls),
        # applied as this process's principal (the admin).
        from lindung_shared.kafka.acls import apply_acls

        rules = await apply_acls(settings.kafka_bootstrap_servers)
        print(f"kafka ACLs: {rules} rules for the services' principals")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lindung")
    sub = parser.add_subparsers(dest="command", required=True)
    token = sub.add_parser("token", help="print a development access token")
    token.add_argument("--role", action="append", required=True, choices=ROLES)
    token.add_argument("--subject", required=True)
    token.add_argument("--venue", action="append", help="venue id (managers); repeatable")
    token.add_argument(
        "--jurisdiction",
        help="a health officer's reach: national, provinces:31,32 or regencies:3273,3171",
    )
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds (default 12 h)")
    sub.add_parser("bootstrap", help="create and migrate databases, create topics")
    sub.add_parser("topics", help="create the Kafka topics of the event catalogue")
    feeds = sub.add_parser("feeds", help="national feeds").add_subparsers(
        dest="feeds_command", required=True
    )
    from lindung_shared import feed_import

    feed_import.add_arguments(
        feeds.add_parser("import", help="bulk import NDJSON files (FHIR Bulk Data style)")
    )
    args = parser.parse_args(argv)
    if args.command == "token":
        return _token(args)
    if args.command == "feeds":
        return feed_import.run(args)
    asyncio.run(_bootstrap_async(only_topics=args.command == "topics"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
