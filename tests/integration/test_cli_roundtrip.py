"""`iom publish` then `iom tail` through the real broker, for every topic of the contract."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from iomkit.cli import app
from iomkit.jsonconv import from_json, to_json
from iomkit.settings import ROOT, Settings
from iomkit.topics import ALL

pytestmark = pytest.mark.integration
RECORD_TOPICS = [t for t in ALL if t.record is not None]
runner = CliRunner()


def example(record: str) -> dict[str, object]:
    return json.loads((ROOT / "schemas" / "examples" / f"{record}.json").read_text())


@pytest.mark.parametrize("topic", RECORD_TOPICS, ids=lambda t: t.name)
def test_publish_then_tail_returns_the_record(topic, cli_env: Settings, tmp_path: Path, codec):
    # A fresh key per run, so the record we tail is the one we published.
    value = example(topic.record)
    value[topic.key] = f"{value[topic.key]}-roundtrip"
    source = tmp_path / "in.jsonl"
    source.write_bytes(orjson.dumps(value) + b"\n")

    published = runner.invoke(app, ["publish", topic.name, str(source)])
    assert published.exit_code == 0, published.output
    assert f"published 1 {topic.record} records to {topic.name}" in published.output

    tailed = runner.invoke(app, ["tail", topic.name, "--idle", "2", "--meta"])
    assert tailed.exit_code == 0, tailed.output
    lines = [json.loads(line) for line in tailed.stdout.splitlines() if line.strip()]
    ours = [r for r in lines if r["key"] == value[topic.key]]
    assert len(ours) == 1
    assert ours[0]["headers"]["iom-schema"] == topic.record
    schema = codec.registry.current(topic.record).raw
    assert ours[0]["value"] == json.loads(to_json(from_json(schema, value)))


def test_publish_refuses_a_file_with_any_bad_line_and_publishes_nothing(
    cli_env: Settings, tmp_path: Path
):
    good = example("Person")
    good["person_id"] = "P-refused-file"
    bad = dict(good, date_of_birth="1990-02-30")
    del bad["sex"]
    source = tmp_path / "people.jsonl"
    source.write_text("\n".join([json.dumps(good), json.dumps(bad), "{not json"]) + "\n")

    result = runner.invoke(app, ["publish", "iom.people", str(source)])

    assert result.exit_code == 1
    assert "nothing published" in result.stderr
    assert "line 2: Person.date_of_birth: expected a date YYYY-MM-DD" in result.stderr
    assert "line 2: Person.sex: missing required field" in result.stderr
    assert "line 3: Person: not valid JSON" in result.stderr
    tailed = runner.invoke(app, ["tail", "iom.people", "--idle", "2", "--meta"])
    assert "P-refused-file" not in tailed.stdout


def test_unknown_topic_is_refused_with_the_known_ones(cli_env: Settings, tmp_path: Path):
    source = tmp_path / "x.jsonl"
    source.write_text("{}\n")
    result = runner.invoke(app, ["publish", "iom.nope", str(source)])
    assert result.exit_code == 2
    assert "unknown topic 'iom.nope'" in result.stderr
    assert "iom.people" in result.stderr


def test_topics_create_is_idempotent_and_describe_shows_configs(cli_env: Settings):
    again = runner.invoke(app, ["topics", "create"])
    assert again.exit_code == 0, again.output
    assert all(" exists " in line for line in again.stdout.splitlines())
    described = runner.invoke(app, ["topics", "describe"])
    lines = {line.split()[0]: line for line in described.stdout.splitlines()}
    assert "cleanup.policy=compact" in lines["iom.people"]
    assert "cleanup.policy=compact" in lines["iom.tag.enrolments"]
    assert "cleanup.policy=compact" in lines["iom.exclusion-zones"]
    assert "cleanup.policy=delete" in lines["iom.tag.pings"]
    assert "partitions=6" in lines["iom.tag.pings"]
    assert "missing" not in described.stdout
