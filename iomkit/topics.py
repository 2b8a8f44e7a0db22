"""The topic catalogue of the public contract (../shared/contract.md), in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str  # the record field whose value is the message key
    record: str | None  # Avro record name; None for dead letters (original bytes)
    compacted: bool = False  # state topics keep the latest value per key
    retention_ms: int = -1  # -1: keep (event history is evidence)
    partitions: int | None = None  # None: the IOM_PARTITIONS setting
    extra: dict[str, str] = field(default_factory=dict)

    def config(self) -> dict[str, str]:
        config = {"cleanup.policy": "compact" if self.compacted else "delete"}
        if not self.compacted:
            config["retention.ms"] = str(self.retention_ms)
        config.update(self.extra)
        return config


PEOPLE = TopicSpec("iom.people", "person_id", "Person", compacted=True)
OFFENDER_EVENTS = TopicSpec("iom.offender.events", "person_id", "OffenderEvent")
REFERRALS = TopicSpec("iom.referrals", "person_id", "Referral")
PANEL_DECISIONS = TopicSpec("iom.panel.decisions", "person_id", "PanelDecision")
COHORT_CHANGES = TopicSpec("iom.cohort.changes", "person_id", "CohortChange")
RISK_GRADES = TopicSpec("iom.risk.grades", "person_id", "RiskGrade")
# Enrolments and zones are state, but a late ping must still meet the enrolment (or zone
# version) in force when it was recorded: nothing younger than the 31-day ping horizon is
# compacted away.
KEEP_HISTORY = {"min.compaction.lag.ms": str(31 * DAY_MS)}
TAG_ENROLMENTS = TopicSpec(
    "iom.tag.enrolments", "device_id", "TagEnrolment", compacted=True, extra=KEEP_HISTORY
)
# Pings are kept 31 days: one day beyond the 30-day trail retention the services enforce.
TAG_PINGS = TopicSpec("iom.tag.pings", "device_id", "TagPing", retention_ms=31 * DAY_MS)
CRIMES_REPORTED = TopicSpec("iom.crimes.reported", "crime_ref", "CrimeReported")
EXCLUSION_ZONES = TopicSpec(
    "iom.exclusion-zones", "zone_id", "ExclusionZone", compacted=True, extra=KEEP_HISTORY
)
GPS_HITS = TopicSpec("iom.gps.hits", "person_id", "CrimeHit")
ZONE_BREACHES = TopicSpec("iom.zone-breaches", "person_id", "ZoneBreach")
TAG_ALERTS = TopicSpec("iom.tag.alerts", "device_id", "TagAlert")
CASE_ALERTS = TopicSpec("iom.case.alerts", "person_id", "CaseAlert")
# Casework facts others count (reviews done, plan actions with partners): dates, no free text.
CASE_RECORDS = TopicSpec("iom.case.records", "person_id", "CaseRecord")
NOTIFICATIONS = TopicSpec("iom.notifications", "recipient", "Notification")
AUDIT = TopicSpec("iom.audit", "person_id", "AuditRecord")
# Dead letters copy records of any topic, locations (TagPing) among them: kept no longer
# than the shortest-lived record they may copy (deploy/retention.toml).
DEAD_LETTERS = TopicSpec("iom.dead-letters", "original key", None, retention_ms=31 * DAY_MS)

ALL: tuple[TopicSpec, ...] = (
    PEOPLE, OFFENDER_EVENTS, REFERRALS, PANEL_DECISIONS, COHORT_CHANGES, RISK_GRADES,
    TAG_ENROLMENTS, TAG_PINGS, CRIMES_REPORTED, EXCLUSION_ZONES, GPS_HITS, ZONE_BREACHES,
    NOTIFICATIONS, TAG_ALERTS, CASE_ALERTS, CASE_RECORDS, AUDIT, DEAD_LETTERS,
)
BY_NAME: dict[str, TopicSpec] = {t.name: t for t in ALL}

# The identity's own topics (iomkit.identity): sign-outs every service follows, and the
# sign-in service's sessions. No one service owns them, so the operator creates them with
# the contract's topics (OPERATOR_TOPICS), and iomkit.access grants who reads and writes.
IDENTITY_REVOCATIONS = TopicSpec("throughcare-identity-revocations", "sid", None,
                                 retention_ms=DAY_MS, partitions=1)  # > a token's life
# Services' internal conduits (commands, ticks, re-keyed streams) are handled in seconds:
# a week covers a worker down over a long weekend (deploy/retention.toml).
CONDUIT_MS = 7 * DAY_MS
IDENTITY_SESSIONS = TopicSpec("throughcare-identity-sessions", "session", None,
                              compacted=True, partitions=1)
OPERATOR_TOPICS: tuple[TopicSpec, ...] = (*ALL, IDENTITY_REVOCATIONS, IDENTITY_SESSIONS)


def spec(name: str) -> TopicSpec:
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(BY_NAME))
        raise KeyError(f"unknown topic {name!r}; known: {known}") from None


def key_of(topic: TopicSpec, value: dict[str, object]) -> bytes | None:
    """The message key of a record: the UTF-8 value of the topic's key field."""
    if topic.record is None:
        return None
    key = value.get(topic.key)
    return None if key is None else str(key).encode()
