"""The retention schedule (deploy/retention.toml) covers every topic the code creates and
every store it keeps, and the code's topic configuration agrees with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from iomkit import retention, topics
from iomkit.settings import ROOT, Settings
from tests.declared import service_topics


@pytest.fixture(scope="module")
def declared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    return service_topics(tmp_path_factory.mktemp("declared"))


@pytest.fixture(scope="module")
def schedule() -> retention.Schedule:
    return retention.load()


def test_every_operator_topic_is_scheduled_and_agrees(schedule: retention.Schedule) -> None:
    for spec in topics.OPERATOR_TOPICS:
        assert spec.config() == schedule.rule(spec.name).config(), spec.name


def test_every_service_topic_is_scheduled_and_agrees(
        declared: dict[str, dict[str, str]], schedule: retention.Schedule) -> None:
    # every kind of internal topic is there: conduits, views, changelogs, peers
    assert {"throughcare-referrals-commands", "throughcare-risk-views",
            "throughcare-gps-evidence", "throughcare-gps_stream-peers",
            "throughcare-referrals-cases-changelog", "throughcare-risk-people-changelog",
            "throughcare-gps_stream-hits-changelog",
            "throughcare-notifications-told-changelog"} <= set(declared)
    for name, config in declared.items():
        assert config == schedule.rule(name).config(), name


def test_every_scheduled_topic_is_one_the_code_creates(
        declared: dict[str, dict[str, str]], schedule: retention.Schedule) -> None:
    known = {spec.name for spec in topics.OPERATOR_TOPICS} | set(declared)
    assert set(schedule.topics) - known == set()


def test_every_store_is_in_the_code_and_every_changelog_has_its_store(
        declared: dict[str, dict[str, str]], schedule: retention.Schedule) -> None:
    for store in schedule.stores.values():
        code = ROOT / store.code
        assert code.is_file(), store.name
        assert store.anchor in code.read_text(), (store.name, store.anchor)
        if store.changelog:
            assert store.changelog in schedule.topics, store.name
    changelogs = {n for n in declared if n.endswith("-changelog")}
    assert changelogs == {s.changelog for s in schedule.stores.values() if s.changelog}
    # the stores the issue names
    assert {"gps_stream fix store", "insights store", "referrals dossiers",
            "notifications console board", "gps_stream published hits"} <= set(schedule.stores)


def test_no_copy_of_a_location_outlives_the_pings(schedule: retention.Schedule) -> None:
    pings = schedule.rule(topics.TAG_PINGS.name).retention_days
    assert pings == schedule.policy["fix_days"] + 1
    for name in (topics.DEAD_LETTERS.name, "throughcare-gps-evidence"):
        days = schedule.rule(name).retention_days
        assert days is not None and 0 < days <= pings, name
    assert topics.DEAD_LETTERS.config()["retention.ms"] == str(31 * topics.DAY_MS)
    assert Settings().evidence_days == schedule.policy["evidence_days"] <= pings


def test_every_entry_says_how_it_is_enforced(schedule: retention.Schedule) -> None:
    for entry in (*schedule.topics.values(), *schedule.stores.values()):
        assert entry.enforced.strip() and entry.why.strip() and entry.holds.strip()
        kept = isinstance(entry, retention.TopicRule) and entry.retention_days == -1
        if kept:  # a topic kept for ever says what would end it, or that nothing does yet
            assert "not yet" in entry.enforced, entry.name


def test_drift_names_only_the_governed_settings_that_differ() -> None:
    wanted = {"cleanup.policy": "delete", "retention.ms": "2678400000"}
    assert retention.drift(wanted, {"cleanup.policy": "delete", "retention.ms": "-1",
                                    "segment.ms": "1"}) == {"retention.ms": "2678400000"}
    assert retention.drift(wanted, dict(wanted)) == {}
    assert retention.drift({"cleanup.policy": "compact"}, {"cleanup.policy": "delete",
                                                          "retention.ms": "-1"}) == {
        "cleanup.policy": "compact"}


@pytest.mark.parametrize(("entry", "problem"), [
    ({"name": "t", "cleanup": "delete", "holds": "h", "retention": "r", "why": "w",
      "enforced": "e"}, "retention_days"),
    ({"name": "t", "cleanup": "both", "holds": "h", "retention": "r", "why": "w",
      "enforced": "e"}, "delete or compact"),
    ({"name": "t", "cleanup": "compact", "holds": "h", "retention": "r", "why": "w"},
     "missing enforced"),
])
def test_a_wrong_entry_names_itself(entry: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        retention.parse({"topic": [entry]})


def test_the_schedule_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "deploy/retention.toml" in readme
    assert Path(retention.SCHEDULE).read_text().startswith("# Throughcare's retention schedule")
