"""The certificate endpoints through HTTP, on a fresh migrated database."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lindung_health.certificates import hcert, repository
from lindung_health.certificates.qr import qr_png, read_qr
from lindung_health.certificates.status import foreign_decision_inputs
from lindung_health.certificates.trust import (
    _record_values,
    generate_development_csca,
    generate_development_signer,
    issue_development_signer,
)
from lindung_health.settings import Settings
from lindung_health.testing import dev_csca
from lindung_shared.testing import bearer as headers_for
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

PersonFactory = Callable[..., Awaitable[uuid.UUID]]
RecordFactory = Callable[..., Awaitable[uuid.UUID]]

VECTORS = Path(
    os.environ.get("LINDUNG_DCC_TESTDATA")
    or Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "eu-dcc-testdata"
)
CVX = "http://hl7.org/fhir/sid/cvx"


def _now() -> datetime:
    return datetime.now(UTC)


def _foreign_signer(country: str = "AT") -> hcert.DocumentSigner:
    """A document signer under the tests' CSCA of ``country`` (loaded in the test app)."""
    return issue_development_signer(
        dev_csca(country), _now(), timedelta(days=60), not_before=_now() - timedelta(days=1)
    )


def _pem(signer: hcert.DocumentSigner) -> str:
    return signer.certificate.public_bytes(serialization.Encoding.PEM).decode()


def _foreign_vaccination(signer: hcert.DocumentSigner, fnt: str, dob: str, ci: str) -> str:
    dcc = {
        "ver": "1.3.0",
        "nam": {"fnt": fnt},
        "dob": dob,
        "v": [
            {
                "tg": "840539006",
                "vp": "1119349007",
                "mp": "EU/1/20/1528",
                "ma": "ORG-100030215",
                "dn": 2,
                "sd": 2,
                "dt": "2021-06-01",
                "co": "AT",
                "is": "Ministry of Health, Austria",
                "ci": ci,
            }
        ],
    }
    now = _now()
    return hcert.encode(
        dcc, signer=signer, issuer="AT", issued_at=now, expires_at=now + timedelta(days=30)
    )


async def _trust(
    client: httpx.AsyncClient, settings: Settings, signer: hcert.DocumentSigner
) -> None:
    response = await client.post(
        "/v1/trust-list",
        json={"certificate": _pem(signer), "country": "AT", "reason": "test signer"},
        headers=headers_for(settings, "admin", "admin-1"),
    )
    assert response.status_code in (200, 201), response.text


# --- trust list -----------------------------------------------------------------------------


async def test_an_admin_loads_a_foreign_signer_and_the_public_sees_it(
    certificate_client: httpx.AsyncClient, certificate_settings: Settings
) -> None:
    signer = _foreign_signer()
    body = {
        "certificate": base64.b64encode(
            signer.certificate.public_bytes(serialization.Encoding.DER)
        ).decode(),
        "country": "at",
        "reason": "Austria's signer from the EU gateway",
    }
    officer = headers_for(certificate_settings, "admin", "admin-1")

    created = await certificate_client.post("/v1/trust-list", json=body, headers=officer)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["kid"] == hcert.kid_text(signer.kid)
    assert entry["country"] == "AT" and entry["origin"] == "foreign" and not entry["active"]
    assert sorted(entry["key_usage"]) == ["recovery", "test", "vaccination"]

    again = await certificate_client.post("/v1/trust-list", json=body, headers=officer)
    assert again.status_code == 200 and again.json()["id"] == entry["id"]

    public = await certificate_client.get("/v1/trust-list", params={"country": "AT"})
    assert public.status_code == 200
    assert entry["kid"] in {e["kid"] for e in public.json()}


async def test_only_admins_load_signers_and_garbage_is_refused(
    certificate_client: httpx.AsyncClient, certificate_settings: Settings
) -> None:
    body = {"certificate": _pem(_foreign_signer()), "country": "AT", "reason": "test"}
    citizen = headers_for(certificate_settings, "citizen")
    officer_only = headers_for(certificate_settings, "health_officer", "officer-1")
    assert (
        await certificate_client.post("/v1/trust-list", json=body, headers=officer_only)
    ).status_code == 403  # the trust list is the admins' now
    assert (await certificate_client.post("/v1/trust-list", json=body)).status_code == 401
    assert (
        await certificate_client.post("/v1/trust-list", json=body, headers=citizen)
    ).status_code == 403
    officer = headers_for(certificate_settings, "admin", "admin-1")
    bad = await certificate_client.post(
        "/v1/trust-list",
        json={
            "certificate": "bm90IGEgY2VydGlmaWNhdGUgYXQgYWxsLCBzb3JyeQ==",
            "country": "AT",
            "reason": "test",
        },
        headers=officer,
    )
    assert bad.status_code == 422
    wrong_country = await certificate_client.post(
        "/v1/trust-list", json={**body, "country": "DE"}, headers=officer
    )
    assert wrong_country.status_code == 422
    assert "AT" in wrong_country.json()["detail"]


async def test_a_signer_without_a_chain_to_a_loaded_csca_is_refused(
    certificate_client: httpx.AsyncClient, certificate_settings: Settings
) -> None:
    """Any officer could load any certificate: now only a DSC issued by a configured CSCA of
    its country, both valid now, and not a CA itself (and only an admin loads one)."""
    officer = headers_for(certificate_settings, "admin", "admin-1")

    async def load(certificate: x509.Certificate, country: str = "AT") -> httpx.Response:
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return await certificate_client.post(
            "/v1/trust-list",
            json={"certificate": pem, "country": country, "reason": "chain test"},
            headers=officer,
        )

    # Issued by a CSCA nobody configured (an officer's own, say).
    stranger = generate_development_signer("AT", _now(), timedelta(days=60))[0]
    refused = await load(stranger.certificate)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/signer-not-chained")
    # Issued by the right CSCA, but no longer valid.
    expired = issue_development_signer(
        dev_csca("AT"),
        _now() - timedelta(days=1),
        timedelta(hours=1),
        not_before=_now() - timedelta(days=1, hours=1),
    )
    refused = await load(expired.certificate)
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/signer-not-valid-now")
    # The CSCA itself is no document signer, nor is any CA.
    refused = await load(dev_csca("AT").certificate)
    assert refused.status_code == 422
    own_ca = generate_development_csca("AT", _now(), timedelta(days=30)).certificate
    assert (await load(own_ca)).status_code == 422
    # A CSCA of another country does not vouch for an Austrian signer.
    german = issue_development_signer(dev_csca("DE"), _now(), timedelta(days=30))
    refused = await load(german.certificate, "DE")
    assert refused.status_code == 201, refused.text  # its own country: fine
    assert (await load(german.certificate, "AT")).status_code == 422
    public = (await certificate_client.get("/v1/trust-list", params={"country": "AT"})).json()
    assert hcert.kid_text(stranger.kid) not in {e["kid"] for e in public}


@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"EU DCC test vectors not found at {VECTORS}")
async def test_real_signers_of_the_eu_vectors_are_refused_without_their_csca(
    certificate_client: httpx.AsyncClient, certificate_settings: Settings
) -> None:
    """The vectors' DSCs chain to CSCAs that are not loaded here (and have expired)."""
    officer = headers_for(certificate_settings, "admin", "admin-1")
    for country in ("AT", "DE"):
        vector = json.loads((VECTORS / country / "2DCode" / "raw" / "1.json").read_text())
        refused = await certificate_client.post(
            "/v1/trust-list",
            json={
                "certificate": vector["TESTCTX"]["CERTIFICATE"],
                "country": country,
                "reason": "EU DCC test vector",
            },
            headers=officer,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"].rsplit("/", 1)[-1] in (
            "signer-not-chained",
            "signer-not-valid-now",
        )


# --- a citizen's own certificates ----------------------------------------------------------


async def test_citizen_gets_signed_certificates_from_their_records(
    certificate_client: httpx.AsyncClient,
    certificate_settings: Settings,
    make_person: PersonFactory,
    add_record: RecordFactory,
) -> None:
    person = await make_person(name="Budi Santoso", birth_date=date(1985, 7, 13))
    now = _now()
    await add_record(
        person,
        "vaccination",
        now - timedelta(days=200),
        vaccine_system=CVX,
        vaccine_code="511",
        dose_number=1,
    )
    await add_record(
        person,
        "vaccination",
        now - timedelta(days=170),
        vaccine_system=CVX,
        vaccine_code="511",
        dose_number=2,
    )
    unspecified = await add_record(
        person,
        "vaccination",
        now - timedelta(days=20),
        vaccine_system=CVX,
        vaccine_code="213",
        dose_number=3,
    )
    await add_record(person, "test", now - timedelta(hours=5), test_type="pcr", result="negative")
    await add_record(person, "test", now - timedelta(days=30), test_type="pcr", result="positive")
    citizen = headers_for(certificate_settings, "citizen", str(person))

    response = await certificate_client.get("/v1/people/me/certificates", headers=citizen)
    assert response.status_code == 200, response.text
    body = response.json()
    kinds = sorted(c["certificate_type"] for c in body["certificates"])
    assert kinds == ["recovery", "test", "vaccination", "vaccination"]
    assert [s["record_id"] for s in body["skipped"]] == [str(unspecified)]

    verifier = headers_for(certificate_settings, "venue_manager", "manager-1")
    for certificate in body["certificates"]:
        assert certificate["hc1"].startswith("HC1:")
        checked = await certificate_client.post(
            "/v1/certificates/verify", json={"hc1": certificate["hc1"]}, headers=verifier
        )
        result = checked.json()
        assert (result["valid"], result["reason"]) == (True, "valid"), result
        assert result["content"]["nam"] == {"fn": "Budi Santoso", "fnt": "BUDI<SANTOSO"}
        assert result["content"]["dob"] == "1985-07-13"
        assert result["issuer_country"] == "ID" and result["signer"]["country"] == "ID"
    doses = sorted(c["content"]["v"][0]["dn"] for c in body["certificates"] if "v" in c["content"])
    assert doses == [1, 2]

    # asking again returns the same signed certificates (not a new signature each time)
    again = (await certificate_client.get("/v1/people/me/certificates", headers=citizen)).json()
    assert {c["hc1"] for c in again["certificates"]} == {c["hc1"] for c in body["certificates"]}

    first = body["certificates"][0]
    png = await certificate_client.get(first["qr_png_url"], headers=citizen)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert read_qr(png.content) == first["hc1"]
    svg = await certificate_client.get(first["qr_svg_url"], headers=citizen)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content

    someone_else = headers_for(certificate_settings, "citizen", str(await make_person()))
    assert (
        await certificate_client.get(first["qr_png_url"], headers=someone_else)
    ).status_code == 404

    own = [
        e for e in (await certificate_client.get("/v1/trust-list")).json() if e["origin"] == "own"
    ]
    assert [e["kid"] for e in own if e["active"]] == [first["kid"]]


async def test_certificates_need_a_citizen_token(
    certificate_client: httpx.AsyncClient, certificate_settings: Settings
) -> None:
    officer = headers_for(certificate_settings, "health_officer", "officer-1")
    assert (await certificate_client.get("/v1/people/me/certificates")).status_code == 401
    assert (
        await certificate_client.get("/v1/people/me/certificates", headers=officer)
    ).status_code == 403


async def test_rotation_keeps_old_certificates_valid_and_signs_new_ones_with_the_new_key(
    certificate_client: httpx.AsyncClient,
    certificate_settings: Settings,
    make_person: PersonFactory,
    add_record: RecordFactory,
) -> None:
    person = await make_person()
    await add_record(
        person,
        "vaccination",
        _now() - timedelta(days=60),
        vaccine_system=CVX,
        vaccine_code="208",
        dose_number=1,
    )
    citizen = headers_for(certificate_settings, "citizen", str(person))
    before = (await certificate_client.get("/v1/people/me/certificates", headers=citizen)).json()
    officer = headers_for(certificate_settings, "admin", "admin-1")

    rotated = await certificate_client.post(
        "/v1/trust-list/own/rotate", json={"reason": "yearly rotation"}, headers=officer
    )
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["active"] and rotated.json()["kid"] != before["certificates"][0]["kid"]

    after = (await certificate_client.get("/v1/people/me/certificates", headers=citizen)).json()
    assert after["certificates"][0]["kid"] == rotated.json()["kid"]
    verifier = headers_for(certificate_settings, "service", "border-gate")
    for hc1 in (before["certificates"][0]["hc1"], after["certificates"][0]["hc1"]):
        result = (
            await certificate_client.post(
                "/v1/certificates/verify", json={"hc1": hc1}, headers=verifier
            )
        ).json()
        assert result["valid"], result


# --- verification --------------------------------------------------------------------------


async def test_verify_answers_with_the_failing_step(
    certificate_client: httpx.AsyncClient, certificate_settings: Settings
) -> None:
    officer = headers_for(certificate_settings, "health_officer", "officer-1")
    untrusted = _foreign_vaccination(_foreign_signer(), "SARI", "1990-04-01", "URN:UVCI:01:AT:X1")

    async def verify(hc1: str) -> dict[str, object]:
        response = await certificate_client.post(
            "/v1/certificates/verify", json={"hc1": hc1}, headers=officer
        )
        assert response.status_code == 200, response.text
        result: dict[str, object] = response.json()
        return result

    assert (await verify("HC2:ABC"))["reason"] == "bad-prefix"
    assert (await verify("HC1:a"))["reason"] == "base45"
    unknown = await verify(untrusted)
    assert (unknown["valid"], unknown["reason"]) == (False, "unknown-kid")
    assert unknown["content"]["nam"] == {"fnt": "SARI"}  # type: ignore[index]


async def test_verify_is_for_verifiers_only(
    certificate_client: httpx.AsyncClient, certificate_settings: Settings
) -> None:
    citizen = headers_for(certificate_settings, "citizen")
    body = {"hc1": "HC1:abc"}
    assert (await certificate_client.post("/v1/certificates/verify", json=body)).status_code == 401
    response = await certificate_client.post("/v1/certificates/verify", json=body, headers=citizen)
    assert response.status_code == 403


async def test_verify_reads_the_qr_from_an_uploaded_image(
    certificate_client: httpx.AsyncClient, certificate_settings: Settings
) -> None:
    signer = _foreign_signer()
    await _trust(certificate_client, certificate_settings, signer)
    hc1 = _foreign_vaccination(signer, "SARI", "1990-04-01", "URN:UVCI:01:AT:IMG1")
    picture = qr_png(hc1)
    manager = headers_for(certificate_settings, "venue_manager", "manager-1")

    multipart = await certificate_client.post(
        "/v1/certificates/verify",
        files={"image": ("qr.png", picture, "image/png")},
        headers=manager,
    )
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["valid"] and multipart.json()["signer"]["country"] == "AT"

    as_base64 = await certificate_client.post(
        "/v1/certificates/verify",
        json={"image_base64": base64.b64encode(picture).decode()},
        headers=manager,
    )
    assert as_base64.json()["valid"]

    no_qr = await certificate_client.post(
        "/v1/certificates/verify",
        files={"image": ("x.png", b"not a picture", "image/png")},
        headers=manager,
    )
    assert no_qr.status_code == 422
    assert no_qr.json()["type"].endswith("/no-qr-code")


@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"EU DCC test vectors not found at {VECTORS}")
async def test_a_real_austrian_certificate_verifies_up_to_its_expiry(
    certificate_client: httpx.AsyncClient,
    certificate_settings: Settings,
    certificate_sessions: async_sessionmaker[AsyncSession],
) -> None:
    vector = json.loads((VECTORS / "AT" / "2DCode" / "raw" / "1.json").read_text())
    officer = headers_for(certificate_settings, "health_officer", "officer-1")
    # Its CSCA is not in the vectors and the DSC expired in 2023: the API refuses to load it
    # now (above), so it goes into the trust list as it would have while it was valid.
    certificate = x509.load_der_x509_certificate(base64.b64decode(vector["TESTCTX"]["CERTIFICATE"]))
    async with certificate_sessions() as session, session.begin():
        values = _record_values(certificate, country="AT", origin="foreign", added_by="test")
        await repository.add_signer(session, values)
    picture = base64.b64decode(vector["2DCODE"])
    response = await certificate_client.post(
        "/v1/certificates/verify",
        files={"image": ("at.png", picture, "image/png")},
        headers=officer,
    )
    result = response.json()
    # signed in 2021 with a one-year expiry: genuine, but expired today
    assert (result["valid"], result["reason"]) == (False, "expired")
    assert result["signer"]["country"] == "AT"
    assert result["content"] == vector["JSON"]


# --- foreign certificates attached to a person ---------------------------------------------


async def test_one_foreign_certificate_binds_to_one_person(
    certificate_client: httpx.AsyncClient,
    certificate_settings: Settings,
    make_person: PersonFactory,
) -> None:
    """Two people sharing a name and birth date both match the holder check; the UVCI is
    bound to the first, also when both attach at once."""
    signer = _foreign_signer()
    await _trust(certificate_client, certificate_settings, signer)
    first = await make_person(name="Budi Santoso", birth_date=date(1980, 2, 3))
    second = await make_person(name="Budi Santoso", birth_date=date(1980, 2, 3))
    hc1 = _foreign_vaccination(signer, "SANTOSO<BUDI", "1980-02-03", f"URN:UVCI:01:AT:{first.hex}")
    answers = await asyncio.gather(
        *(
            certificate_client.post(
                "/v1/people/me/certificates/foreign",
                json={"hc1": hc1},
                headers=headers_for(certificate_settings, "citizen", str(p)),
            )
            for p in (first, second)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["type"].endswith("/uvci-attached")


async def test_citizen_attaches_a_verified_foreign_certificate(
    certificate_client: httpx.AsyncClient,
    certificate_settings: Settings,
    certificate_sessions: async_sessionmaker[AsyncSession],
    make_person: PersonFactory,
) -> None:
    signer = _foreign_signer()
    await _trust(certificate_client, certificate_settings, signer)
    person = await make_person(name="Sari Wijaya", birth_date=date(1990, 4, 1))
    citizen = headers_for(certificate_settings, "citizen", str(person))
    hc1 = _foreign_vaccination(signer, "WIJAYA<SARI", "1990-04-01", f"URN:UVCI:01:AT:{person.hex}")

    attached = await certificate_client.post(
        "/v1/people/me/certificates/foreign", json={"hc1": hc1}, headers=citizen
    )
    assert attached.status_code == 201, attached.text
    assert attached.json()["certificate_type"] == "vaccination"
    assert attached.json()["issuer_country"] == "AT"
    again = await certificate_client.post(
        "/v1/people/me/certificates/foreign", json={"hc1": hc1}, headers=citizen
    )
    assert again.status_code == 200 and again.json()["id"] == attached.json()["id"]

    mine = (await certificate_client.get("/v1/people/me/certificates", headers=citizen)).json()
    assert [f["uvci"] for f in mine["foreign"]] == [f"URN:UVCI:01:AT:{person.hex}"]

    async with certificate_sessions() as session:
        vaccinations, tests = await foreign_decision_inputs(session, person)
    assert [(v.administered_at.date(), v.dose_number) for v in vaccinations] == [
        (date(2021, 6, 1), 2)
    ]
    assert tests == []
    # ...and the status engine counts it: a person with no Indonesian records is green.
    async with certificate_sessions() as session:
        colour = (
            await session.execute(
                text("SELECT colour FROM person_status WHERE person_id = :p"), {"p": person}
            )
        ).scalar_one()
    assert colour == "green"


async def test_foreign_certificates_of_someone_else_or_untrusted_are_refused(
    certificate_client: httpx.AsyncClient,
    certificate_settings: Settings,
    make_person: PersonFactory,
) -> None:
    signer = _foreign_signer()
    await _trust(certificate_client, certificate_settings, signer)
    person = await make_person(name="Sari Wijaya", birth_date=date(1990, 4, 1))
    citizen = headers_for(certificate_settings, "citizen", str(person))
    url = "/v1/people/me/certificates/foreign"

    other = _foreign_vaccination(signer, "MUSTERMANN<MAX", "1990-04-01", "URN:UVCI:01:AT:OTHER")
    refused = await certificate_client.post(url, json={"hc1": other}, headers=citizen)
    assert refused.status_code == 422 and refused.json()["type"].endswith("/holder-mismatch")
    assert "MUSTERMANN" not in refused.text  # no personal data echoed back

    born_later = _foreign_vaccination(signer, "SARI", "1991-04-01", "URN:UVCI:01:AT:DOB")
    assert (
        await certificate_client.post(url, json={"hc1": born_later}, headers=citizen)
    ).status_code == 422

    untrusted = _foreign_vaccination(_foreign_signer(), "SARI", "1990-04-01", "URN:UVCI:01:AT:U")
    rejected = await certificate_client.post(url, json={"hc1": untrusted}, headers=citizen)
    assert rejected.status_code == 422
    assert rejected.json()["reason"] == "unknown-kid"
