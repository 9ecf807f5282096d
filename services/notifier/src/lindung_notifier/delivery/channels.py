"""Pluggable delivery channels: each calls one gateway's HTTP API with aiohttp.

aiohttp, not httpx, for the gateway calls: against the same local gateway a bare aiohttp loop
spent 0.08 ms of CPU per call and a bare httpx loop 0.56 ms (8 connections each,
services/notifier/bench/fanout_bench.py's gateway), and the delivery worker's CPU was mostly
inside ``httpx.AsyncClient.post``.

A channel turns a gateway's answer into an :class:`Outcome`: delivered, retry (the gateway
is unreachable, slow or overloaded: counts against its circuit breaker), permanent (the
gateway refused this message for good) or invalid target (the push token is dead).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import aiohttp
import orjson
from pydantic import SecretStr

from lindung_notifier.metrics import GATEWAY_SECONDS


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"
    INVALID_TARGET = "invalid-target"


@dataclass(frozen=True)
class Message:
    delivery_id: uuid.UUID
    recipient: str
    title: str
    body: str
    data: Mapping[str, Any] = field(default_factory=dict)
    phone: str | None = None
    device_token: str | None = None


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message_id: str | None = None
    error: str | None = None


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> Result: ...


@dataclass(frozen=True)
class Answer:
    """A gateway's answer: its status and (bounded) body."""

    status: int
    body: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return orjson.loads(self.body)


#: A gateway's answer is a small JSON object; more is not read.
MAX_ANSWER_BYTES = 65_536


class HttpChannel:
    """Shared plumbing: bearer credential, timeout, error classification."""

    name = "http"

    def __init__(
        self, session: aiohttp.ClientSession, url: str, token: SecretStr, timeout: float
    ) -> None:
        self.session = session
        self.url = url
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        # Built once: per call, only the idempotency key is added (and the histogram's
        # labelled child is looked up once, not on every call).
        self._headers = {
            "Authorization": f"Bearer {token.get_secret_value()}",
            "Content-Type": "application/json",
        }
        self._gateway_seconds = GATEWAY_SECONDS.labels(self.name)

    def payload(self, message: Message) -> dict[str, Any]:
        raise NotImplementedError

    def classify(self, answer: Answer) -> Result:
        if answer.is_success:
            return Result(Outcome.DELIVERED, message_id=_message_id(answer))
        if answer.status in (408, 425, 429) or answer.status >= 500:
            return Result(Outcome.RETRY, error=f"gateway answered {answer.status}")
        return Result(Outcome.PERMANENT, error=f"gateway refused: {answer.status}")

    async def send(self, message: Message) -> Result:
        started = time.perf_counter()
        try:
            async with self.session.post(
                self.url,
                data=orjson.dumps(self.payload(message)),
                headers={**self._headers, "Idempotency-Key": str(message.delivery_id)},
                timeout=self.timeout,
                allow_redirects=False,
            ) as response:
                answer = Answer(response.status, await response.content.read(MAX_ANSWER_BYTES))
        except TimeoutError:  # asyncio's, which aiohttp raises for its timeouts
            return Result(Outcome.RETRY, error="gateway timed out")
        except aiohttp.ClientError as exc:
            return Result(Outcome.RETRY, error=f"gateway unreachable: {type(exc).__name__}")
        finally:
            self._gateway_seconds.observe(time.perf_counter() - started)
        return self.classify(answer)


def _message_id(answer: Answer) -> str | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("message_id", "name", "id"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return None


class SmsChannel(HttpChannel):
    """A generic SMS gateway: ``{"to", "text", "reference"}``; the reference (the delivery
    id) is the gateway's idempotency key, so a re-send after a lost answer is not a second SMS."""

    name = "sms"

    def payload(self, message: Message) -> dict[str, Any]:
        return {"to": message.phone, "text": message.body, "reference": str(message.delivery_id)}


class PushChannel(HttpChannel):
    """An FCM-style push gateway (HTTP v1 message shape)."""

    name = "push"

    def payload(self, message: Message) -> dict[str, Any]:
        return {
            "message": {
                "token": message.device_token,
                "notification": {"title": message.title, "body": message.body},
                "data": {k: "" if v is None else str(v) for k, v in message.data.items()}
                | {"delivery_id": str(message.delivery_id)},
            }
        }

    def classify(self, answer: Answer) -> Result:
        if answer.status in (400, 404) and _is_unregistered(answer):
            return Result(Outcome.INVALID_TARGET, error="push token is not registered")
        return super().classify(answer)


def _is_unregistered(answer: Answer) -> bool:
    if answer.status == 404:
        return True
    try:
        error = answer.json().get("error", {})
    except (ValueError, AttributeError):
        return False
    status = str(error.get("status", "")) if isinstance(error, dict) else ""
    details = str(error) if isinstance(error, dict) else ""
    return status in ("NOT_FOUND", "UNREGISTERED") or "UNREGISTERED" in details
