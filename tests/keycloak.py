"""A real OpenID Connect provider for the tests: Keycloak from Maven Central
(deploy/keycloak/keycloak.sh fetch), started in dev mode on a free port with an in-memory
database and one realm, a force's own: its users, their ISA roles, and the force every
token of the realm names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from iomkit.processes import free_port
from iomkit.settings import ROOT

SCRIPT = ROOT / "deploy" / "keycloak" / "keycloak.sh"
REALM = "hampshire"
CLIENT = "throughcare"


def realm(users: dict[str, tuple[str, str]]) -> dict[str, object]:
    """username -> (password, ISA role): the realm of Hampshire's own provider."""
    def mapper(name: str, kind: str, config: dict[str, str]) -> dict[str, object]:
        return {"name": name, "protocol": "openid-connect", "protocolMapper": kind,
                "config": {"access.token.claim": "true", "id.token.claim": "true",
                           "userinfo.token.claim": "true", **config}}

    return {
        "realm": REALM, "enabled": True, "sslRequired": "none",
        "roles": {"realm": [{"name": role} for role in sorted({r for _, r in users.values()})]},
        "clients": [{
            "clientId": CLIENT, "publicClient": True, "standardFlowEnabled": True,
            "directAccessGrantsEnabled": True, "redirectUris": ["*"], "webOrigins": ["*"],
            "attributes": {"pkce.code.challenge.method": "S256",
                           "post.logout.redirect.uris": "*"},
            "protocolMappers": [
                mapper("force", "oidc-hardcoded-claim-mapper",
                       {"claim.name": "forces", "claim.value": "Hampshire",
                        "jsonType.label": "String"}),
                mapper("role", "oidc-usermodel-realm-role-mapper",
                       {"claim.name": "role", "multivalued": "true",
                        "jsonType.label": "String"}),
                mapper("audience", "oidc-audience-mapper",
                       {"included.client.audience": CLIENT}),
            ]}],
        "users": [{
            "username": name, "enabled": True, "email": f"{name}@hampshire.example",
            "emailVerified": True, "firstName": name, "lastName": "Officer",
            "credentials": [{"type": "password", "value": password, "temporary": False}],
            "realmRoles": [role]} for name, (password, role) in users.items()],
    }


@dataclass
class Keycloak:
    work: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/realms/{REALM}"

    def start(self, users: dict[str, tuple[str, str]], within: float = 240.0) -> None:
        subprocess.run([str(SCRIPT), "fetch"], check=True, timeout=900)
        home = Path(subprocess.run([str(SCRIPT), "home"], check=True, capture_output=True,
                                   text=True).stdout.strip())
        # --import-realm reads the distribution's own data/import folder
        imports = home / "data" / "import"
        imports.mkdir(parents=True, exist_ok=True)
        (imports / f"{REALM}-realm.json").write_text(json.dumps(realm(users)))
        env = {**os.environ, "KEYCLOAK_ADMIN": "admin",
               "KEYCLOAK_ADMIN_PASSWORD": "test-only-admin-password",
               "JAVA_OPTS_APPEND": "-Xms64m -Xmx512m"}
        self.work.mkdir(parents=True, exist_ok=True)
        log = (self.work / "keycloak.log").open("ab")
        self.process = subprocess.Popen(
            [str(home / "bin" / "kc.sh"), "start-dev", "--http-host", "127.0.0.1",
             "--http-port", str(self.port), "--hostname-strict=false", "--db", "dev-mem",
             "--import-realm"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Keycloak exited: see {self.work / 'keycloak.log'}")
            try:
                with urllib.request.urlopen(
                        f"{self.issuer}/.well-known/openid-configuration", timeout=2):
                    return
            except OSError:
                time.sleep(1)
        raise TimeoutError(f"Keycloak not up within {within}s: see {self.work}")

    def password_token(self, username: str, password: str) -> str:
        """An access token by the direct grant, as an API client of the force would."""
        body = urllib.parse.urlencode({"grant_type": "password", "client_id": CLIENT,
                                       "username": username, "password": password,
                                       "scope": "openid"}).encode()
        with urllib.request.urlopen(f"{self.issuer}/protocol/openid-connect/token", body,
                                    timeout=30) as answer:
            return str(json.loads(answer.read())["access_token"])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
