"""Settings of the certificates feature (environment variables ``HEALTH_DCC_*``).

Kept apart from the service's ``Settings`` so this feature can be configured (and tested)
on its own; it inherits the shared refusal of placeholder secrets in production.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from lindung_shared.settings import ServiceSettings
from pydantic import Field, SecretStr


class CertificateSettings(ServiceSettings):
    #: Passphrase that encrypts our document signers' private keys at rest (PKCS#8).
    signer_key_passphrase: SecretStr = Field(
        default=SecretStr("dev-only-dcc-signer-passphrase"),
        alias="HEALTH_DCC_SIGNER_KEY_PASSPHRASE",
    )
    #: ISO 3166 country written as the CWT issuer and in each certificate's ``co``.
    issuer_country: str = Field(default="ID", alias="HEALTH_DCC_ISSUER_COUNTRY")
    #: The certificate issuer (``is``): at most 80 characters.
    issuer_name: str = Field(
        default="Ministry of Health of the Republic of Indonesia", alias="HEALTH_DCC_ISSUER_NAME"
    )
    #: Validity of a generated document signer (development) and of vaccination certificates.
    signer_validity_days: int = Field(default=730, alias="HEALTH_DCC_SIGNER_VALIDITY_DAYS")
    vaccination_validity_days: int = Field(default=365, alias="HEALTH_DCC_VACCINATION_DAYS")
    #: Outside development no signer is generated: the ministry's DSC (PEM) and its private
    #: key (PEM, encrypted with the passphrase above) are given here.
    signer_certificate_pem: str | None = Field(default=None, alias="HEALTH_DCC_SIGNER_CERT_PEM")
    signer_private_key_pem: SecretStr | None = Field(
        default=None, alias="HEALTH_DCC_SIGNER_KEY_PEM"
    )
    #: The country signing CAs (CSCAs) whose document signers may be loaded into the trust
    #: list: PEM certificates, concatenated, given inline and/or as a file (the deployment
    #: mounts the public ConfigMap ``lindung-dcc-cscas``). A foreign document signer is
    #: accepted only with a chain to one of them, within its validity; with none configured,
    #: none is (development and the tests load their own).
    csca_pem: str = Field(default="", alias="HEALTH_DCC_CSCA_PEM")
    csca_path: Path | None = Field(default=None, alias="HEALTH_DCC_CSCA_PATH")

    def cscas(self) -> list[x509.Certificate]:
        """The configured CSCAs (an unreadable file or bad PEM fails loudly at first use)."""
        text = self.csca_pem
        if self.csca_path is not None:
            text += "\n" + self.csca_path.read_text(encoding="ascii")
        if not text.strip():
            return []
        return x509.load_pem_x509_certificates(text.encode("ascii"))
