"""The client file: what `iom credentials create` writes is what every client reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from iomkit.clientconfig import ClientConfig, ClientConfigError, parse_properties
from iomkit.settings import Settings


def secured(tmp_path: Path) -> ClientConfig:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here\n")
    return ClientConfig("127.0.0.1:9093", "SASL_SSL", "police-kent", "s3cret-Pa55", ca)


def test_written_file_reads_back_the_same(tmp_path: Path) -> None:
    config = secured(tmp_path)
    java, rdkafka = config.write(tmp_path / "kent")
    assert ClientConfig.read(java) == config
    assert java.stat().st_mode & 0o077 == 0 and rdkafka.stat().st_mode & 0o077 == 0
    text = java.read_text()
    assert "security.protocol=SASL_SSL" in text and "ssl.truststore.type=PEM" in text
    assert 'username="police-kent" password="s3cret-Pa55";' in text
    rd = parse_properties(rdkafka.read_text())
    assert rd["sasl.username"] == "police-kent" and rd["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert rd["ssl.ca.location"] == str(config.ca_file)


def test_password_is_never_in_a_repr(tmp_path: Path) -> None:
    config = secured(tmp_path)
    assert "s3cret" not in repr(config)
    settings = Settings(kafka_client_config=config.write(tmp_path)[0])
    assert "s3cret" not in repr(settings)


def test_settings_bootstrap_given_explicitly_wins_over_the_file(tmp_path: Path) -> None:
    path = secured(tmp_path).write(tmp_path)[0]
    assert Settings(kafka_client_config=path).kafka_client().bootstrap_servers == "127.0.0.1:9093"
    explicit = Settings(kafka_client_config=path, bootstrap_servers="10.0.0.1:9093")
    assert explicit.kafka_client().bootstrap_servers == "10.0.0.1:9093"
    assert Settings().kafka_client().security_protocol == "PLAINTEXT"


def test_properties_syntax_of_java() -> None:
    props = parse_properties("# comment\n! also\nkey = value\nother:x=y\nlong=a\\\n   b\n")
    assert props == {"key": "value", "other": "x=y", "long": "ab"}


@pytest.mark.parametrize(("line", "problem"), [
    ("security.protocol=SSL", "security.protocol"),
    ("sasl.mechanism=PLAIN", "sasl.mechanism"),
    ("ssl.truststore.type=JKS", "ssl.truststore.type"),
])
def test_a_wrong_file_is_refused_naming_the_key(tmp_path: Path, line: str, problem: str) -> None:
    path = secured(tmp_path).write(tmp_path)[0]
    key = line.split("=")[0]
    kept = [x for x in path.read_text().splitlines() if not x.startswith(key + "=")]
    path.write_text("\n".join([*kept, line]) + "\n")
    with pytest.raises(ClientConfigError, match=problem):
        ClientConfig.read(path)


def test_a_missing_client_file_stops_the_process_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iomkit.settings import SettingsError, load

    monkeypatch.setenv("IOM_KAFKA_CLIENT_CONFIG", str(tmp_path / "nowhere.properties"))
    with pytest.raises(SettingsError, match=r"IOM_KAFKA_CLIENT_CONFIG.*cannot read"):
        load()
