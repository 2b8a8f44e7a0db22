"""The local CA: made once, signs server certificates that verify against it."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509

from iomkit.pki import ensure_ca, issue_certificate


def test_ca_made_once_and_signs_server_certificates(tmp_path: Path) -> None:
    ca, ca_key = ensure_ca(tmp_path)
    assert ensure_ca(tmp_path) == (ca, ca_key)
    first = ca.read_bytes()
    cert, key = issue_certificate(tmp_path, "frontdoor", ["localhost", "127.0.0.1"])
    assert ca.read_bytes() == first  # the CA is kept
    assert key.stat().st_mode & 0o077 == 0 and ca_key.stat().st_mode & 0o077 == 0
    served = x509.load_pem_x509_certificate(cert.read_bytes())
    names = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    served.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.read_bytes()))
    context = ssl.create_default_context(cafile=str(ca))  # loads as a trust anchor
    context.load_cert_chain(str(cert), str(key))
