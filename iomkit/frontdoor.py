"""The front door: Debian's nginx in front of the four services, one origin over TLS from
the project's CA, so a user signs in once and every page and API is on the same site. The
services themselves listen on loopback only.

Which paths go to which service is decided here, once (``ROUTES``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from iomkit import pki

NGINX = "/usr/sbin/nginx"
# (nginx location, service): exact (=), prefix (^~ wins over regexes), or regex (~).
ROUTES: tuple[tuple[str, str], ...] = (
    ("^~ /auth/", "notifications"), ("= /login", "notifications"),
    ("^~ /console", "notifications"), ("^~ /api/hits", "notifications"),
    ("~ ^/people/[^/]+/grade$", "risk"), ("= /grades", "risk"),
    ("~ ^/people/[^/]+/trail$", "gps_stream"), ("^~ /hits/", "gps_stream"),
    ("= /crimes/upload", "gps_stream"),
    ("^~ /referrals", "referrals"), ("/people/", "referrals"), ("= /panel", "referrals"),
    ("^~ /panel/", "referrals"), ("= /map", "referrals"), ("= /youth-transfer", "referrals"),
    ("^~ /agencies/", "referrals"), ("^~ /insights", "insights"), ("^~ /ops", "insights"),
    ("^~ /audit", "insights"),
)


def config(prefix: Path, port: int, upstreams: dict[str, int], cert: Path, key: Path,
           max_body: int, crime_file_max: int) -> str:
    temp = "\n".join(f"  {kind}_temp_path {prefix / 'tmp' / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    servers = "\n".join(f"  upstream {name} {{ server 127.0.0.1:{p}; }}"
                        for name, p in upstreams.items())
    locations = []
    for where, service in ROUTES:
        if service not in upstreams:  # a stack without that service (a test's)
            continue
        extra = ""
        if where == "^~ /console":
            # server-sent events: no buffering, long reads
            extra = " proxy_buffering off; proxy_read_timeout 1h;"
        if where == "= /crimes/upload":
            extra = (f" client_max_body_size {crime_file_max}; proxy_request_buffering off;"
                     " proxy_read_timeout 10m;")
        locations.append(f"    location {where} {{ proxy_pass http://{service};{extra} }}")
    return f"""# written by iomkit.frontdoor: changes are lost at the next start
worker_processes 1;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{ worker_connections 512; }}
http {{
  # paths name people: no access log
  access_log off;
  server_tokens off;
{temp}
  client_max_body_size {max_body};
{servers}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    proxy_http_version 1.1;
    proxy_redirect off;
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Proto https;
    proxy_set_header Connection "";
    add_header Strict-Transport-Security "max-age=31536000" always;
    location = / {{ return 303 /console; }}
{chr(10).join(locations)}
    location / {{ return 404; }}
  }}
}}
"""


@dataclass
class FrontDoor:
    """nginx as a child process with its own prefix folder (config, pid, logs, temp)."""

    prefix: Path
    port: int
    upstreams: dict[str, int]
    pki_dir: Path
    max_body: int = 1 << 20
    crime_file_max: int = 64 << 20
    hostnames: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost"])
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @staticmethod
    def available() -> bool:
        return Path(NGINX).exists()

    def start(self, within: float = 20.0) -> None:
        self.prefix.mkdir(parents=True, exist_ok=True)
        cert, key = pki.issue_certificate(self.pki_dir, "frontdoor", self.hostnames)
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            folder = self.prefix / "tmp" / kind
            folder.mkdir(parents=True, exist_ok=True)
            if os.getuid() == 0:  # nginx's workers drop to nobody
                shutil.chown(folder, pwd.getpwnam("nobody").pw_uid)
        conf = self.prefix / "nginx.conf"
        conf.write_text(config(self.prefix, self.port, self.upstreams, cert, key,
                               self.max_body, self.crime_file_max))
        log = (self.prefix / "nginx.out").open("ab")
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-c", str(conf), "-g", "daemon off;"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready(within)

    def wait_ready(self, within: float) -> None:
        context = ssl.create_default_context(cafile=str(pki.ensure_ca(self.pki_dir)[0]))
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: see {self.prefix / 'error.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/auth/signin", timeout=2,
                                            context=context) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"the front door is not answering: see {self.prefix}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGQUIT)  # graceful: finish open requests
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
