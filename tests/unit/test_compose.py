"""docker-compose.yml is complete and correct without a Docker engine to try it: every
long-running container has a healthcheck (the one-shot jobs are documented as such), every
image is pinned, every service of `make run` is there on its own port with its own
principal, the secrets notifications needs are set, Prometheus scrapes every service at its
port with the alert rules, Grafana is provisioned from files in the repository, and the
simulator publishes as a principal whose grant is exactly what it plays."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from iomkit import access, simulator
from iomkit.processes import SERVICES
from iomkit.settings import ROOT, Settings
from services.notifications import subscriptions

TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(TEXT)
CONTAINERS = COMPOSE["services"]
# They run to completion (the others wait for pki and setup; nothing waits for simulator).
ONE_SHOT = {"pki", "setup", "simulator"}


def test_every_long_running_container_has_a_healthcheck_and_every_image_a_version():
    assert {"grafana", "simulator", "prometheus", *SERVICES} <= set(CONTAINERS)
    header = TEXT.split("\nx-", 1)[0]  # the file's opening comment
    for name, container in CONTAINERS.items():
        if name in ONE_SHOT:  # not restarted, and said so where the file lists its containers
            assert container.get("restart", "no") == "no", f"{name} is restarted"
            assert "healthcheck" not in container, name
            assert re.search(rf"^#   {name} ", header, re.M), f"{name} is not documented"
        else:
            assert "healthcheck" in container, f"{name} has no healthcheck"
            assert container["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        image = container.get("image", "")
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), (
            f"{name}: image {image!r} is not pinned")
    assert re.search(r"^# pki, setup and simulator are one-shot jobs", header, re.M)


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


def bind_mounts(container: dict) -> dict[str, tuple[str, str]]:
    """Container path -> (host path, mode) of a container's bind mounts from the checkout."""
    found = {}
    for mount in container["volumes"]:
        if isinstance(mount, str) and mount.startswith("./"):
            source, target, *mode = mount.split(":")
            found[target] = (source, mode[0] if mode else "rw")
    return found


def test_grafana_is_provisioned_from_the_repository_read_only():
    container = CONTAINERS["grafana"]
    assert container["image"].startswith("grafana/grafana:")
    assert container["ports"] == ["127.0.0.1:3000:3000"]
    assert container["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    assert "/api/health" in " ".join(container["healthcheck"]["test"])
    env = container["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    # from the environment, with a default that says what it is
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:-demo-only-[\w-]+\}",
                        env["GF_SECURITY_ADMIN_PASSWORD"])
    mounts = bind_mounts(container)
    for target, (source, mode) in mounts.items():
        assert (ROOT / source).is_dir(), f"grafana mounts {source}, which is not in the repo"
        assert mode == "ro", f"{target} is writable"
    provisioning = {target.removeprefix("/etc/grafana/provisioning/"): ROOT / source
                    for target, (source, _) in mounts.items()
                    if target.startswith("/etc/grafana/provisioning/")}
    assert set(provisioning) == {"datasources", "dashboards"}

    [source] = yaml.safe_load((provisioning["datasources"] / "prometheus.yml").read_text())[
        "datasources"]
    prometheus_port = CONTAINERS["prometheus"]["ports"][0].rsplit(":", 1)[1]
    assert source["url"] == f"http://prometheus:{prometheus_port}"
    assert (source["type"], source["uid"], source["isDefault"]) == ("prometheus", "prometheus",
                                                                    True)

    [provider] = yaml.safe_load((provisioning["dashboards"] / "throughcare.yml").read_text())[
        "providers"]
    assert provider["type"] == "file"
    folder = provider["options"]["path"]
    assert mounts[folder][0] == "./deploy/grafana/dashboards"
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(folder + "/")
    assert (ROOT / "deploy/grafana/dashboards" / home.removeprefix(folder + "/")).is_file()


def test_the_simulator_plays_a_day_as_its_own_principal():
    container = CONTAINERS["simulator"]
    command = container["command"]
    assert container["image"] == CONTAINERS["referrals"]["image"]
    assert command[:2] == ["iom", "simulate"]
    assert float(command[command.index("--speed") + 1]) > 0  # paced, like make run's day
    assert container["depends_on"]["setup"] == {"condition": "service_completed_successfully"}
    folder = "/var/lib/throughcare/kafka/clients/simulator"
    assert container["environment"]["IOM_KAFKA_CLIENT_CONFIG"] == f"{folder}/client.properties"
    # its own folder only, never another principal's password
    assert container["volumes"] == [{"type": "volume", "source": "kafka-secrets",
                                     "target": folder, "read_only": True,
                                     "volume": {"subpath": "clients/simulator"}}]
    # setup makes it an agency's grant (iomkit/access.py) writing exactly what it publishes
    setup = " ".join(CONTAINERS["setup"]["command"])
    made = re.search(r"iom credentials create simulator --produce ([\w. -]+?) --out (\S+)",
                     setup)
    assert made, "setup makes no simulator principal"
    produce = made.group(1).split()
    assert made.group(2) == folder
    assert set(produce) == {topic for topic, _ in simulator.TOPICS.values()}
    grant = access.agency("simulator", produce, [])  # raises if the contract does not allow it
    assert not grant.consume and not set(grant.produce) & access.OPERATOR_ONLY
