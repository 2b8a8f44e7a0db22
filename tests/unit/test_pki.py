"""The local CA: made once, certificates chained to it, keys private, SANs as asked."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509

from iomkit.pki import ensure_ca, issue_certificate


def test_ca_is_made_once_and_reused(tmp_path: Path) -> None:
    cert, key = ensure_ca(tmp_path)
    first = cert.read_bytes()
    assert ensure_ca(tmp_path) == (cert, key)
    assert cert.read_bytes() == first
    assert key.stat().st_mode & 0o077 == 0


def test_certificate_chains_to_the_ca_and_names_its_hosts(tmp_path: Path) -> None:
    cert_path, key_path = issue_certificate(tmp_path, "broker", ["kafka"])
    chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
    ca = x509.load_pem_x509_certificate(ensure_ca(tmp_path)[0].read_bytes())
    assert chain[-1] == ca
    chain[0].verify_directly_issued_by(ca)
    san = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"kafka", "localhost"} <= set(san.get_values_for_type(x509.DNSName))
    assert "127.0.0.1" in {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert key_path.stat().st_mode & 0o077 == 0
    # Python's own TLS stack accepts the pair, and trusts it through the CA alone.
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(ensure_ca(tmp_path)[0]))
    assert client.cert_store_stats()["x509_ca"] == 1


def test_certificate_is_reused_until_a_new_host_is_asked_for(tmp_path: Path) -> None:
    cert_path, _ = issue_certificate(tmp_path, "broker", ["kafka"])
    first = cert_path.read_bytes()
    issue_certificate(tmp_path, "broker", ["kafka"])
    assert cert_path.read_bytes() == first
    issue_certificate(tmp_path, "broker", ["kafka", "kafka.internal"])
    assert cert_path.read_bytes() != first
