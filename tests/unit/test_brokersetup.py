"""What kafka.sh prepares before a secured broker starts: made once, private, reused."""

from __future__ import annotations

from pathlib import Path

from iomkit.brokersetup import prepare
from iomkit.clientconfig import ClientConfig


def test_prepare_is_idempotent_and_keeps_secrets_private(tmp_path: Path) -> None:
    files = prepare(tmp_path, "127.0.0.1:9093", ["kafka"])
    password = files.admin_password_file.read_text()
    ca = files.ca.read_bytes()
    again = prepare(tmp_path, "127.0.0.1:9093", ["kafka"])
    assert again.admin_password_file.read_text() == password  # made once
    assert files.ca.read_bytes() == ca
    for secret in (files.admin_password_file, files.keystore, files.operator_config,
                   files.pki / "ca-key.pem"):
        assert secret.stat().st_mode & 0o077 == 0, secret
    # The keystore is the key then the chain, in one PEM file (Kafka's PEM keystore).
    keystore = files.keystore.read_text()
    assert keystore.startswith("-----BEGIN PRIVATE KEY-----")
    assert keystore.count("BEGIN CERTIFICATE") == 2


def test_the_operator_file_trusts_the_public_copy_of_the_ca(tmp_path: Path) -> None:
    files = prepare(tmp_path, "127.0.0.1:9093", [])
    operator = ClientConfig.read(files.operator_config)
    assert operator.username == "admin" and operator.secured
    assert operator.ca_file == files.public_ca
    assert files.public_ca.read_bytes() == files.ca.read_bytes()
    assert not list(files.public_ca.parent.glob("*key*"))  # nothing secret beside it
