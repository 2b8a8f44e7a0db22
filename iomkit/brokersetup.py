"""What a secured broker needs before it starts, under its data folder (run by
deploy/kafka/kafka.sh; idempotent):

    pki/ca.pem, pki/throughcare-broker.pem   the local CA, the broker's chained certificate
    public/ca.pem                            the CA certificate alone, what clients trust
                                             (a folder without keys, safe to share)
    pki/broker-keystore.pem                  key + chain in one file: Kafka's PEM keystore
    secrets/admin.password                   the operator's SCRAM password, made once
    clients/admin/client.properties          the operator's client file (+ librdkafka twin)

    python -m iomkit.brokersetup DATA_DIR BOOTSTRAP [HOSTNAME...]

The operator (``admin``) is the broker's only super user besides the broker itself
(``User:CN=throughcare-broker``, its certificate on the controller listener): every other
principal gets exactly the ACLs that iomkit.access gives it.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from iomkit.clientconfig import ClientConfig
from iomkit.pki import ensure_ca, issue_certificate

OPERATOR = "admin"
BROKER_CN = "throughcare-broker"


@dataclass(frozen=True)
class BrokerFiles:
    data_dir: Path

    @property
    def pki(self) -> Path:
        return self.data_dir / "pki"

    @property
    def ca(self) -> Path:
        return self.pki / "ca.pem"

    @property
    def public_ca(self) -> Path:
        return self.data_dir / "public" / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.pki / "broker-keystore.pem"

    @property
    def admin_password_file(self) -> Path:
        return self.data_dir / "secrets" / f"{OPERATOR}.password"

    @property
    def clients(self) -> Path:
        """Where `iom credentials create` writes each principal's files by default."""
        return self.data_dir / "clients"

    @property
    def operator_config(self) -> Path:
        return self.clients / OPERATOR / "client.properties"


def _private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def prepare(data_dir: Path, bootstrap: str, hostnames: list[str]) -> BrokerFiles:
    files = BrokerFiles(data_dir)
    ca, _ = ensure_ca(files.pki)
    files.public_ca.parent.mkdir(parents=True, exist_ok=True)
    files.public_ca.write_bytes(ca.read_bytes())
    cert, key = issue_certificate(files.pki, BROKER_CN, hostnames)
    _private(files.keystore, key.read_bytes() + cert.read_bytes())
    if not files.admin_password_file.exists():
        _private(files.admin_password_file, secrets.token_urlsafe(24).encode())
    password = files.admin_password_file.read_text().strip()
    # Every client file made from the operator's names the public copy of the CA.
    ClientConfig(bootstrap, "SASL_SSL", OPERATOR, password, files.public_ca).write(
        files.operator_config.parent)
    return files


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write("usage: python -m iomkit.brokersetup DATA_DIR BOOTSTRAP [HOST...]\n")
        return 2
    prepare(Path(argv[0]), argv[1], argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
