"""The retention schedule (deploy/retention.toml), read as data: for every topic its Kafka
configuration, and what each topic and store holds, for how long and why.

The code's topic catalogue is checked against it (tests/unit/test_retention.py), the broker
against both (tests/integration/test_retention.py), and ``kafka.create_topics`` alters an
existing topic whose retention or cleanup has drifted from its TopicSpec (:func:`drift`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from iomkit.settings import ROOT

SCHEDULE = ROOT / "deploy" / "retention.toml"
DAY_MS = 24 * 3600 * 1000
#: The topic settings the schedule governs (the ones a TopicSpec sets).
GOVERNED = ("cleanup.policy", "retention.ms", "min.compaction.lag.ms")
_TEXT = ("holds", "retention", "why", "enforced")


@dataclass(frozen=True)
class TopicRule:
    name: str
    holds: str
    retention: str
    why: str
    enforced: str
    cleanup: str  # delete | compact
    retention_days: float | None = None  # -1: kept; only for delete
    min_compaction_lag_days: float | None = None

    def config(self) -> dict[str, str]:
        """The topic configuration this rule gives, as a TopicSpec's ``config()`` does."""
        config = {"cleanup.policy": self.cleanup}
        if self.cleanup == "delete":
            days = -1 if self.retention_days is None else self.retention_days
            config["retention.ms"] = "-1" if days < 0 else str(int(days * DAY_MS))
        if self.min_compaction_lag_days is not None:
            config["min.compaction.lag.ms"] = str(int(self.min_compaction_lag_days * DAY_MS))
        return config


@dataclass(frozen=True)
class StoreRule:
    name: str
    code: str  # the file that makes the store
    anchor: str  # a line of it
    holds: str
    retention: str
    why: str
    enforced: str
    changelog: str | None = None


@dataclass(frozen=True)
class Schedule:
    policy: Mapping[str, Any]
    topics: Mapping[str, TopicRule]
    stores: Mapping[str, StoreRule]

    def rule(self, topic: str) -> TopicRule:
        try:
            return self.topics[topic]
        except KeyError:
            raise KeyError(f"topic {topic!r} is not in the retention schedule "
                           f"({SCHEDULE.relative_to(ROOT)})") from None


def parse(data: Mapping[str, Any]) -> Schedule:
    """The schedule from its TOML (a wrong entry names itself)."""
    topics: dict[str, TopicRule] = {}
    for entry in data.get("topic", []):
        name = entry.get("name", "?")
        missing = [k for k in ("name", "cleanup", *_TEXT) if not entry.get(k)]
        if missing:
            raise ValueError(f"retention schedule: topic {name}: missing {', '.join(missing)}")
        if entry["cleanup"] not in ("delete", "compact"):
            raise ValueError(f"retention schedule: topic {name}: cleanup is delete or compact")
        if entry["cleanup"] == "delete" and "retention_days" not in entry:
            raise ValueError(f"retention schedule: topic {name}: retention_days (-1: kept)")
        if name in topics:
            raise ValueError(f"retention schedule: topic {name} twice")
        topics[name] = TopicRule(**entry)
    stores: dict[str, StoreRule] = {}
    for entry in data.get("store", []):
        name = entry.get("name", "?")
        missing = [k for k in ("name", "code", "anchor", *_TEXT) if not entry.get(k)]
        if missing:
            raise ValueError(f"retention schedule: store {name}: missing {', '.join(missing)}")
        if name in stores:
            raise ValueError(f"retention schedule: store {name} twice")
        stores[name] = StoreRule(**entry)
    return Schedule(data.get("policy", {}), topics, stores)


@cache
def load(path: Path = SCHEDULE) -> Schedule:
    with path.open("rb") as file:
        return parse(tomllib.load(file))


def drift(wanted: Mapping[str, str], actual: Mapping[str, str]) -> dict[str, str]:
    """The governed settings of ``wanted`` whose value on the broker (``actual``) differs:
    what to alter. A setting absent from ``wanted`` is left as it is."""
    return {key: value for key, value in wanted.items()
            if key in GOVERNED and actual.get(key) != value}
