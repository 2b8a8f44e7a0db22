"""Settings: defaults load, and every wrong setting stops start-up naming its variable."""

from __future__ import annotations

import os

import pytest

from iomkit import settings
from iomkit.settings import SettingsError, load


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("IOM_"):
            monkeypatch.delenv(name)


def test_defaults_load() -> None:
    loaded = load()
    assert loaded.bootstrap_servers == "127.0.0.1:9092"
    assert loaded.partitions == 6
    assert loaded.replication_factor == 1
    assert loaded.store == "rocksdb://"
    assert loaded.log_level == "INFO"
    assert loaded.schemas_dir == settings.ROOT / "schemas"
    assert loaded.clock_offset_s == 0.0
    assert loaded.session_timeout_s == 10.0
    assert loaded.port_of("risk") == 6062
    assert len({loaded.port_of(s) for s in ("referrals", "risk", "gps_stream",
                                            "notifications")}) == 4


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_PARTITIONS", "12")
    monkeypatch.setenv("IOM_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9093")
    monkeypatch.setenv("IOM_STORE", "memory://")
    monkeypatch.setenv("IOM_CLOCK_OFFSET_S", "86400")
    loaded = load()
    assert loaded.partitions == 12
    assert loaded.bootstrap_servers == "kafka-1:9092,kafka-2:9093"
    assert loaded.store == "memory://"
    assert loaded.clock_offset_s == 86400.0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("IOM_PARTITIONS", "abc"),
        ("IOM_PARTITIONS", "0"),
        ("IOM_BOOTSTRAP_SERVERS", "nohostport"),
        ("IOM_BOOTSTRAP_SERVERS", "kafka:9092,kafka:notaport"),
        ("IOM_STORE", "redis://"),
        ("IOM_RISK_PORT", "70000"),
        ("IOM_LOG_LEVEL", "LOUD"),
        ("IOM_LAG_INTERVAL_S", "0"),
    ],
)
def test_wrong_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load()
    message = str(caught.value)
    assert f"setting {variable}:" in message
    assert value.split(",")[-1] in message  # the wrong value is shown


def test_every_wrong_setting_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_PARTITIONS", "0")
    monkeypatch.setenv("IOM_LOG_LEVEL", "LOUD")
    with pytest.raises(SettingsError) as caught:
        load()
    assert "IOM_PARTITIONS" in str(caught.value) and "IOM_LOG_LEVEL" in str(caught.value)


def test_settings_error_stops_the_process() -> None:
    assert issubclass(SettingsError, SystemExit)
