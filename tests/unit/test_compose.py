"""docker-compose.yml is complete and correct without a Docker engine to try it: every
long-running container has a healthcheck, every image is pinned, every service of
`make run` is there on its own port with its own principal, the secrets notifications
needs are set, and Prometheus scrapes every service at its port with the alert rules."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from iomkit.processes import SERVICES
from iomkit.settings import ROOT, Settings
from services.notifications import subscriptions

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
CONTAINERS = COMPOSE["services"]
ONE_SHOT = {"pki", "setup"}  # they run to completion; the others wait for them


def test_every_long_running_container_has_a_healthcheck_and_every_image_a_version():
    for name, container in CONTAINERS.items():
        if name not in ONE_SHOT:
            assert "healthcheck" in container, f"{name} has no healthcheck"
        image = container.get("image", "")
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), (
            f"{name}: image {image!r} is not pinned")


def test_every_service_runs_on_its_port_as_its_own_principal():
    defaults = Settings()
    assert set(SERVICES) <= set(CONTAINERS)
    setup = " ".join(CONTAINERS["setup"]["command"])
    for name in SERVICES:
        container = CONTAINERS[name]
        port = defaults.port_of(name)
        command = container["command"]
        assert command[:3] == ["python", "-m", f"services.{name}.app"], name
        assert command[command.index("--web-port") + 1] == str(port), name
        assert container["ports"] == [f"127.0.0.1:{port}:{port}"], name
        assert container["environment"]["PORT"] == str(port), name
        client = container["environment"]["IOM_KAFKA_CLIENT_CONFIG"]
        assert client == f"/var/lib/throughcare/kafka/clients/{name}/client.properties"
        assert re.search(rf"for s in [^;]*\b{name}\b", setup), f"setup makes no {name} principal"
        hosts = container["environment"]["IOM_ALLOWED_HOSTS"].split(",")
        assert name in hosts  # Prometheus asks for it by name


def test_the_secrets_notifications_needs_are_set():
    env = {k: str(v) for k, v in CONTAINERS["notifications"]["environment"].items()}
    recipients = subscriptions.load(ROOT / "services" / "notifications" / "subscriptions.toml",
                                    env)  # raises, naming the variable, when one is missing
    assert recipients


def test_prometheus_scrapes_every_service_with_the_alert_rules(tmp_path: Path):
    container = CONTAINERS["prometheus"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in container["volumes"]
              if m.startswith("./")}
    config_file = ROOT / mounts["/etc/prometheus/compose.yml"]
    assert ROOT / mounts["/etc/prometheus/alerts.yml"] == ROOT / "deploy/prometheus/alerts.yml"
    config = yaml.safe_load(config_file.read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    [job] = config["scrape_configs"]
    targets = {c["labels"]["service"]: c["targets"] for c in job["static_configs"]}
    defaults = Settings()
    assert targets == {name: [f"{name}:{defaults.port_of(name)}"] for name in SERVICES}
    # valid for Prometheus itself, with the rules where the container has them
    local = tmp_path / "compose.yml"
    local.write_text(config_file.read_text().replace(
        "/etc/prometheus/alerts.yml", str(ROOT / "deploy/prometheus/alerts.yml")))
    checked = subprocess.run(["/usr/bin/promtool", "check", "config", str(local)],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
