"""The last line of defence against PII in logs: messages, arguments, exception texts and
``extra`` fields; phone numbers with or without the plus."""

from __future__ import annotations

import json
import logging

import pytest
from lindung_shared.logging import configure_logging, redact


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("call +6281234567890 now", "6281234567890"),
        ("call 6281234567890 now", "6281234567890"),
        ("call 081234567890 now", "081234567890"),
        ("nik 3171015705900012", "3171015705900012"),
    ],
)
def test_redact(text: str, hidden: str) -> None:
    assert hidden not in redact(text)


def test_ids_are_left_alone() -> None:
    uuid_text = "person 0b7e1f43-2a35-4b55-8f0c-081234567890 seq 1234"
    assert redact(uuid_text) == uuid_text


def test_extra_fields_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("redaction-test")
    logging.getLogger("t").warning(
        "sent to %s",
        "081234567890",
        extra={"phone": "+6281234567890", "detail": {"to": ["0812345678901"]}, "count": 3},
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert "0812" not in json.dumps(line) and "62812" not in json.dumps(line)
    assert line["count"] == 3 and line["phone"] == "+[redacted-phone]"
