"""Async SQLAlchemy helpers: engine, sessions, one transaction per request.

Services ``flush()``; the caller (the request dependency or the consumer runner) commits.
A request's transaction commits when its endpoint returns and *before* the response is sent
(``scope="function"``): a 2xx is only ever the answer to a committed write, and a commit that
fails becomes the error answer instead (a 503 when the database is unreachable).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from lindung_shared.settings import ServiceSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(settings: ServiceSettings, **overrides: object) -> AsyncEngine:
    options: dict[str, object] = {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
        "pool_pre_ping": True,
        "connect_args": {"server_settings": {"application_name": settings.service_name}},
    }
    options.update(overrides)
    return create_async_engine(settings.sqlalchemy_url, **options)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns (before its response
    is sent, see :data:`SessionDep`), rolled back on error."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session, session.begin():
        yield session


#: The request's session. ``scope="function"`` runs the commit as soon as the endpoint returns,
#: before FastAPI sends the response; the default ("request") scope would commit after the
#: response had gone out, acknowledging writes that a crash or a failed commit then lost.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
