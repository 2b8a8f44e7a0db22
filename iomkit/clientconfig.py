"""How a Kafka client connects: one file per principal, in Kafka's own ``client.properties``
format, read by the ``iom`` CLI, every service, the tests and the benchmarks alike (the
``IOM_KAFKA_CLIENT_CONFIG`` setting names it), and by Kafka's console tools unchanged.
Beside it a librdkafka file (``kcat -F``) says the same for C clients.

Only the keys we need are understood (bootstrap.servers, security.protocol, sasl.mechanism,
sasl.jaas.config, ssl.truststore.type=PEM, ssl.truststore.location); any other key is left
for the Java tools. The password never appears in a repr or a log line.
"""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PROTOCOLS = ("PLAINTEXT", "SASL_SSL")
MECHANISM = "SCRAM-SHA-512"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
JAVA_FILE = "client.properties"
LIBRDKAFKA_FILE = "librdkafka.properties"


class ClientConfigError(ValueError):
    """A client file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class ClientConfig:
    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    sasl_mechanism: str = MECHANISM

    @property
    def secured(self) -> bool:
        return self.security_protocol == "SASL_SSL"

    def with_bootstrap(self, servers: str) -> ClientConfig:
        return replace(self, bootstrap_servers=servers)

    # -- reading --------------------------------------------------------------------------

    @classmethod
    def read(cls, path: Path) -> ClientConfig:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ClientConfigError(f"{path}: cannot read ({exc.strerror})") from None
        props = parse_properties(text)
        where = str(path)
        protocol = props.get("security.protocol", "PLAINTEXT").upper()
        if protocol not in PROTOCOLS:
            raise ClientConfigError(f"{where}: security.protocol {protocol!r}: "
                                    f"expected one of {', '.join(PROTOCOLS)}")
        servers = props.get("bootstrap.servers", "")
        if not servers:
            raise ClientConfigError(f"{where}: bootstrap.servers is missing")
        if protocol == "PLAINTEXT":
            return cls(servers)
        mechanism = props.get("sasl.mechanism", "GSSAPI")  # Kafka's own default
        if mechanism != MECHANISM:
            raise ClientConfigError(f"{where}: sasl.mechanism {mechanism!r}: expected {MECHANISM}")
        username, password = _jaas_credentials(props.get("sasl.jaas.config", ""), where)
        if props.get("ssl.truststore.type", "").upper() != "PEM":
            raise ClientConfigError(f"{where}: ssl.truststore.type must be PEM")
        location = props.get("ssl.truststore.location")
        if not location:
            raise ClientConfigError(f"{where}: ssl.truststore.location is missing")
        ca_file = (path.parent / location).resolve()
        if not ca_file.is_file():
            raise ClientConfigError(f"{where}: ssl.truststore.location {ca_file} not found")
        return cls(servers, protocol, username, password, ca_file, mechanism)

    # -- writing --------------------------------------------------------------------------

    def java_properties(self) -> str:
        lines = [f"bootstrap.servers={self.bootstrap_servers}",
                 f"security.protocol={self.security_protocol}"]
        if self.secured:
            lines += [
                f"sasl.mechanism={self.sasl_mechanism}",
                f'sasl.jaas.config={SCRAM_MODULE} required username="{self.username}" '
                f'password="{self.password}";',
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={self.ca_file}",
            ]
        return "\n".join(lines) + "\n"

    def librdkafka_properties(self) -> str:
        lines = [f"bootstrap.servers={self.bootstrap_servers}",
                 f"security.protocol={self.security_protocol.lower()}"]
        if self.secured:
            lines += [f"sasl.mechanisms={self.sasl_mechanism}",
                      f"sasl.username={self.username}",
                      f"sasl.password={self.password}",
                      f"ssl.ca.location={self.ca_file}"]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> tuple[Path, Path]:
        """``client.properties`` and ``librdkafka.properties`` in ``folder``, readable by
        their owner only (they hold the password)."""
        folder.mkdir(parents=True, exist_ok=True)
        java, rdkafka = folder / JAVA_FILE, folder / LIBRDKAFKA_FILE
        _write_private(java, self.java_properties())
        _write_private(rdkafka, self.librdkafka_properties())
        return java, rdkafka

    # -- using ----------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.secured:
            return None
        # Verifies the broker's chain and its name (or IP) against our CA only.
        return ssl.create_default_context(cafile=str(self.ca_file))

    def aiokafka_options(self) -> dict[str, Any]:
        """Connection keyword arguments for AIOKafkaProducer, -Consumer and -AdminClient."""
        options: dict[str, Any] = {"bootstrap_servers": self.bootstrap_servers,
                                   "security_protocol": self.security_protocol}
        if self.secured:
            options.update(sasl_mechanism=self.sasl_mechanism,
                           sasl_plain_username=self.username,
                           sasl_plain_password=self.password,
                           ssl_context=self.ssl_context())
        return options


def parse_properties(text: str) -> dict[str, str]:
    """Java ``.properties``: ``key=value`` or ``key: value``, ``#``/``!`` comments,
    backslash continuation lines and escapes."""
    props: dict[str, str] = {}
    logical: list[str] = []
    for raw in text.splitlines():
        line = raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if _continues(line):
            logical.append(line[:-1])
            continue
        logical.append(line)
        entry, logical = "".join(logical), []
        match = re.match(r"((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$", entry)
        if match is None:
            props[_unescape(entry.strip())] = ""
            continue
        props[_unescape(match.group(1))] = _unescape(match.group(2))
    return props


def _continues(line: str) -> bool:
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _unescape(value: str) -> str:
    table = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
    return re.sub(r"\\(.)", lambda m: table.get(m.group(1), m.group(1)), value)


def _jaas_credentials(jaas: str, where: str) -> tuple[str, str]:
    if SCRAM_MODULE not in jaas:
        raise ClientConfigError(f"{where}: sasl.jaas.config must use {SCRAM_MODULE}")
    found = dict(re.findall(r'(username|password)\s*=\s*"((?:\\.|[^"\\])*)"', jaas))
    if "username" not in found or "password" not in found:
        raise ClientConfigError(f"{where}: sasl.jaas.config needs username and password")
    return found["username"], found["password"]


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)
