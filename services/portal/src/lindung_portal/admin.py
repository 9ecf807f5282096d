"""``lindung-portal``: operator commands of the portal.

- ``lindung-portal create-officer --email E --name N (--national | --province 31 |
  --regency 3171...) [--admin]``: a health officer's account within their jurisdiction;
  the password is read from
  ``--password-stdin`` or asked for at the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from lindung_shared.errors import Problem


async def _create_officer(args: argparse.Namespace, password: str) -> int:
    from lindung_shared.db import create_engine, create_sessionmaker

    from lindung_portal import accounts
    from lindung_portal.settings import Settings

    if args.national:
        jurisdiction = accounts.Jurisdiction.parse("national", [])
    elif args.province:
        jurisdiction = accounts.Jurisdiction.parse("province", args.province)
    else:
        jurisdiction = accounts.Jurisdiction.parse("regencies", args.regency or [])
    engine = create_engine(Settings())
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            account = await accounts.create(
                session,
                email=args.email,
                name=args.name,
                password=password,
                role="officer",
                jurisdiction=jurisdiction,
                is_admin=args.admin,
                created_by=f"cli:{getpass.getuser()}",
            )
    finally:
        await engine.dispose()
    print(f"officer {account.email} created ({account.id})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lindung-portal")
    sub = parser.add_subparsers(dest="command", required=True)
    officer = sub.add_parser("create-officer", help="create a health officer's account")
    officer.add_argument("--email", required=True)
    officer.add_argument("--name", required=True)
    where = officer.add_mutually_exclusive_group(required=True)
    where.add_argument("--national", action="store_true")
    where.add_argument("--province", action="append", help="two-digit code; repeatable")
    where.add_argument("--regency", action="append", help="four-digit code; repeatable")
    officer.add_argument("--admin", action="store_true", help="may also publish screening rules")
    officer.add_argument("--password-stdin", action="store_true")
    args = parser.parse_args(argv)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
    try:
        return asyncio.run(_create_officer(args, password))
    except Problem as problem:
        print(f"refused: {problem.detail}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
