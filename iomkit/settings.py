"""Settings from the environment (prefix ``IOM_``), validated once at start."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from iomkit.clientconfig import ClientConfig, ClientConfigError

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(SystemExit):
    """A wrong setting: the service stops at start with a message naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IOM_", extra="ignore", frozen=True)

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,host:port]"
    )
    kafka_client_config: Path | None = Field(
        None, description="this process's client.properties (iom credentials create writes "
        "one per principal): how it connects and as whom; unset: plaintext, no user"
    )
    partitions: int = Field(6, ge=1, le=1024, description="partitions for topics we create")
    replication_factor: int = Field(1, ge=1, le=7)
    schemas_dir: Path = Field(ROOT / "schemas", description="where the .avsc files live")
    store_dir: Path = Field(ROOT / "var" / "state", description="RocksDB state folders")
    store: str = Field("rocksdb://", description="Faust table store: rocksdb:// or memory://")
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    lag_interval_s: float = Field(5.0, gt=0, description="how often consumer lag is measured")
    evidence_days: float = Field(
        30.0, gt=0, le=31, description="a hit's evidence fixes are readable this long after "
        "they were recorded (the 30-day fix retention; deploy/retention.toml)")

    referrals_port: int = Field(6061, ge=1, le=65535)
    risk_port: int = Field(6062, ge=1, le=65535)
    gps_stream_port: int = Field(6063, ge=1, le=65535)
    notifications_port: int = Field(6064, ge=1, le=65535)
    insights_port: int = Field(6065, ge=1, le=65535)

    session_timeout_s: float = Field(
        10.0, ge=6, le=300, description="a worker silent this long is replaced (failover)"
    )
    broker_wait_s: float = Field(
        600.0, ge=0, description="how long a worker started before the broker waits for it, "
        "retrying with backoff, before it gives up"
    )
    shutdown_grace_s: float = Field(
        8.0, gt=0, description="after SIGTERM, how long a worker flushes before it leaves "
        "whatever the broker's state (orchestrators send SIGKILL after 10-30 s)"
    )
    clock_offset_s: float = Field(
        0.0, description="shifts this process's clock: for tests and drills that move time"
    )

    # -- identity and access (iomkit.identity) ------------------------------------------
    identity_dir: Path = Field(ROOT / "var" / "identity", description="the signing keys "
                               "(sign-in service only) and jwks.json, the public key set "
                               "every service verifies tokens with")
    users_file: Path = Field(ROOT / "var" / "users.toml", description="users (argon2 hashes)")
    token_ttl_s: float = Field(300.0, ge=5, le=3600, description="a token's lifetime")
    idle_timeout_s: float = Field(900.0, ge=5, description="a session unused this long ends")
    session_max_s: float = Field(8 * 3600.0, ge=5, description="a session's absolute end")
    signin_url: str = Field("", description="the sign-in page (empty: the notifications "
                            "service's /auth/signin on this host)")
    allowed_hosts: str = Field("127.0.0.1,localhost", description="Host names served, comma "
                               "separated; any other Host (or Origin) is refused")
    tls: bool = Field(False, description="served over TLS (the front door): Secure cookies")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="the largest POST body")
    login_limit_user: int = Field(5, ge=1, description="failed logins per user per window")
    login_limit_address: int = Field(20, ge=1, description="failed logins per address")
    login_window_s: float = Field(900.0, gt=0, description="the login rate limit's window")
    frontdoor_port: int = Field(8443, ge=1, le=65535, description="the front door (https)")
    prometheus_port: int = Field(9090, ge=1, le=65535, description="make run's Prometheus")
    prometheus_url: str = Field("", description="the Prometheus the ops page asks (its HTTP "
                                "API); unset: make run's, http://127.0.0.1:<prometheus_port>")
    oidc_issuer: str = Field("", description="a force's OpenID Connect issuer (empty: none)")
    oidc_client_id: str = Field("throughcare", description="our client id at the issuer")
    oidc_audience: str = Field("", description="the audience its tokens carry (empty: any)")
    oidc_forces_claim: str = Field("forces", description="the claim carrying the force(s)")
    oidc_role_claim: str = Field("role", description="the claim carrying the ISA role")
    # -- data protection (iomkit.audittrail, iomkit.subjectaccess) -----------------------
    audit_store: Path | None = Field(None, description="the audit store: loaded from "
                                     "iom.audit by `iom audit` (the operator), read (only) "
                                     "by the DPO's page; unset: audit/audit.duckdb beside "
                                     "the store dir (var/audit/audit.duckdb)")

    def hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())

    def signin(self) -> str:
        return self.signin_url or f"http://127.0.0.1:{self.notifications_port}/auth/signin"

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"expected host:port[,host:port], got {server!r}")
        return value

    @field_validator("kafka_client_config")
    @classmethod
    def _client_config(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                ClientConfig.read(value)
            except ClientConfigError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        if value not in ("rocksdb://", "memory://"):
            raise ValueError(f"expected rocksdb:// or memory://, got {value!r}")
        return value

    def kafka_client(self) -> ClientConfig:
        """How to connect: the client file if one is named (read afresh, so a rotated
        password is used by the next connection), plaintext otherwise. An explicit
        IOM_BOOTSTRAP_SERVERS wins over the file's bootstrap.servers."""
        if self.kafka_client_config is None:
            return ClientConfig(self.bootstrap_servers)
        config = ClientConfig.read(self.kafka_client_config)
        if "bootstrap_servers" in self.model_fields_set:
            config = config.with_bootstrap(self.bootstrap_servers)
        return config

    def prometheus(self) -> str:
        return (self.prometheus_url or f"http://127.0.0.1:{self.prometheus_port}").rstrip("/")

    def port_of(self, service: str) -> int:
        return int(getattr(self, f"{service}_port"))

    def audit_store_file(self) -> Path:
        return self.audit_store or self.store_dir.parent / "audit" / "audit.duckdb"

    def now(self) -> datetime:
        """This process's clock: the wall clock shifted by ``clock_offset_s``."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset_s)


def describe_error(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        name = "IOM_" + "_".join(str(part) for part in problem["loc"]).upper()
        lines.append(f"setting {name}: {problem['msg']} (got {problem.get('input')!r})")
    return "; ".join(lines)


def load() -> Settings:
    """Read the settings, or stop with a message naming each wrong one."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(f"throughcare: {describe_error(error)}") from None


@lru_cache(maxsize=1)
def get() -> Settings:
    return load()


if __name__ == "__main__":  # `python -m iomkit.settings` checks the environment.
    sys.stdout.write(get().model_dump_json(indent=2) + "\n")
