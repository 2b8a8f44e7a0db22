"""Who may write and read what on the broker: the one source of truth for the ACLs
(``../shared/contract.md``, "Access", and each service's README), from which the broker's
ACLs are made (`iom credentials`) and the README's table is generated
(``python -m iomkit.access``; a unit test keeps the README in step).

* Each service is one principal: it writes only the topics it is the writer of, plus
  ``iom.audit`` (append only) and ``iom.dead-letters``; it reads only what it consumes; it
  owns its internal topics (``throughcare-NAME-...``: changelogs, ticks, views) and its
  consumer groups (``throughcare-NAME...``, Faust's and its batch consumers').
* Each agency is one principal, onboarded with `iom credentials create`: it writes only
  topics whose writer in the contract is an agency, reads only what its information
  sharing agreement gives it, and uses consumer groups named ``NAME-...``.
* Nobody but the operator (the broker's super user) reads ``iom.audit``; nobody deletes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum

from iomkit import topics as t

OPERATOR = "admin"  # super user: creates topics and principals, replays dead letters


class Resource(IntEnum):  # Kafka's AclResourceType codes
    TOPIC = 2
    GROUP = 3


class Pattern(IntEnum):  # Kafka's PatternType codes
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):  # Kafka's AclOperation codes
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE_CONFIGS = 10


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW binding for a principal (Kafka denies whatever none allows)."""

    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation


@dataclass(frozen=True)
class Grant:
    principal: str  # the SCRAM user name; Kafka's principal is User:<principal>
    kind: str  # service, agency, future service
    produce: tuple[str, ...]
    consume: tuple[str, ...]
    own_prefixes: tuple[str, ...] = ()  # its internal topics: created, read and written
    own_topics: tuple[str, ...] = ()  # internal topics named outside its prefix
    group_prefixes: tuple[str, ...] = ()

    def acls(self) -> list[Acl]:
        acls = [Acl(Resource.TOPIC, name, Pattern.LITERAL, Operation.WRITE)
                for name in self.produce]
        acls += [Acl(Resource.TOPIC, name, Pattern.LITERAL, Operation.READ)
                 for name in self.consume]
        owned = [(name, Pattern.PREFIXED) for name in self.own_prefixes]
        owned += [(name, Pattern.LITERAL) for name in self.own_topics]
        for name, pattern in owned:
            acls += [Acl(Resource.TOPIC, name, pattern, op) for op in
                     (Operation.CREATE, Operation.READ, Operation.WRITE,
                      Operation.DESCRIBE_CONFIGS)]
        acls += [Acl(Resource.GROUP, prefix, Pattern.PREFIXED, Operation.READ)
                 for prefix in self.group_prefixes]
        return sorted(set(acls))


# Every service writes these as well as its own outputs (audit: WRITE only, never READ).
EVERY_SERVICE_WRITES = (t.AUDIT, t.DEAD_LETTERS)


# Every service follows the sign-outs (iomkit.identity), to refuse a revoked session's token.
EVERY_SERVICE_READS = (t.IDENTITY_REVOCATIONS,)


def service(name: str, produce: Iterable[t.TopicSpec], consume: Iterable[t.TopicSpec],
            own_topics: tuple[str, ...] = (), kind: str = "service") -> Grant:
    return Grant(
        principal=name, kind=kind,
        produce=tuple(s.name for s in (*produce, *EVERY_SERVICE_WRITES)),
        consume=tuple(s.name for s in (*consume, *EVERY_SERVICE_READS)),
        own_prefixes=(f"throughcare-{name}-",), own_topics=own_topics,
        # Faust's group is the app id (throughcare-NAME); batch consumers add a suffix.
        group_prefixes=(f"throughcare-{name}",),
    )


SERVICES: dict[str, Grant] = {g.principal: g for g in (
    service("referrals",
            produce=[t.REFERRALS, t.PANEL_DECISIONS, t.COHORT_CHANGES, t.CASE_ALERTS,
                     t.CASE_RECORDS],
            # iom.exclusion-zones: which zones protect a victim (the dossier shows them).
            # iom.tag.enrolments: tag orders checked against the licence (care/tagorders.py)
            consume=[t.PEOPLE, t.REFERRALS, t.PANEL_DECISIONS, t.OFFENDER_EVENTS,
                     t.RISK_GRADES, t.GPS_HITS, t.ZONE_BREACHES, t.EXCLUSION_ZONES,
                     t.TAG_ENROLMENTS]),
    service("risk",
            produce=[t.RISK_GRADES],
            consume=[t.PEOPLE, t.OFFENDER_EVENTS, t.GPS_HITS, t.ZONE_BREACHES,
                     t.COHORT_CHANGES, t.RISK_GRADES]),
    # Writes iom.crimes.reported for the forces that upload a crime file over HTTP.
    service("gps_stream",
            produce=[t.GPS_HITS, t.ZONE_BREACHES, t.TAG_ALERTS, t.CRIMES_REPORTED],
            # iom.people: a person's force decides who may see their trail and hits.
            consume=[t.TAG_ENROLMENTS, t.TAG_PINGS, t.CRIMES_REPORTED, t.EXCLUSION_ZONES,
                     t.GPS_HITS, t.PEOPLE],
            own_topics=("throughcare-gps-evidence",)),
    # Also the sign-in page (iomkit.identity.signin): it keeps the sessions and publishes
    # the sign-outs every service follows.
    service("notifications",
            produce=[t.NOTIFICATIONS, t.OFFENDER_EVENTS, t.IDENTITY_REVOCATIONS,
                     t.IDENTITY_SESSIONS],
            consume=[t.GPS_HITS, t.ZONE_BREACHES, t.TAG_ALERTS, t.RISK_GRADES,
                     t.CASE_ALERTS, t.PEOPLE, t.COHORT_CHANGES, t.CRIMES_REPORTED,
                     t.NOTIFICATIONS, t.IDENTITY_SESSIONS,
                     # the zone under a breach on the console's map
                     t.EXCLUSION_ZONES]),
    # Management information: every contract topic but the audit trail and dead letters
    # (it reads no pings either: it keeps no locations). It writes no topic of its own.
    service("insights", produce=[],
            consume=[s for s in t.ALL if s not in (t.AUDIT, t.DEAD_LETTERS, t.TAG_PINGS,
                                                     t.EXCLUSION_ZONES)]),
)}

# Services not built yet: a grant here makes adding one adding its code, not rethinking
# access (the management information service, insights, was one; none is waiting now).
FUTURE_SERVICES: dict[str, Grant] = {}

# The contract's "written by" column, for the kinds of agency: what an agency may be given
# to produce. Everything else is written by a service (or the operator).
AGENCY_WRITERS: dict[str, tuple[str, ...]] = {
    "agency systems": (t.PEOPLE.name, t.OFFENDER_EVENTS.name, t.REFERRALS.name),
    "any agency": (t.REFERRALS.name,),
    "tag supplier": (t.TAG_ENROLMENTS.name, t.TAG_PINGS.name),
    "police forces": (t.CRIMES_REPORTED.name,),
    "probation": (t.EXCLUSION_ZONES.name,),
}
AGENCY_WRITABLE = frozenset(name for names in AGENCY_WRITERS.values() for name in names)
OPERATOR_ONLY = frozenset({t.AUDIT.name})  # nobody else reads it
RESERVED = frozenset({OPERATOR, *SERVICES, *FUTURE_SERVICES})


class AccessError(ValueError):
    """A grant the contract does not allow; the message says which and why."""


def agency(name: str, produce: Iterable[str], consume: Iterable[str]) -> Grant:
    """An agency's grant, checked against the contract."""
    produce, consume = tuple(dict.fromkeys(produce)), tuple(dict.fromkeys(consume))
    if name in RESERVED:
        raise AccessError(f"{name!r} is a service or the operator, not an agency")
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise AccessError(f"{name!r}: use letters, digits, '-', '_' and '.' only")
    for topic in (*produce, *consume):
        if topic not in t.BY_NAME:
            raise AccessError(f"{topic!r} is not a contract topic")
    for topic in produce:
        if topic not in AGENCY_WRITABLE:
            raise AccessError(f"{topic} is written by a service, not by an agency")
    for topic in consume:
        if topic in OPERATOR_ONLY:
            raise AccessError(f"{topic}: nobody but the operator reads it")
    return Grant(name, "agency", produce, consume, group_prefixes=(f"{name}-",))


def grant_of(name: str) -> Grant:
    """The grant of a service (current or future)."""
    found = SERVICES.get(name) or FUTURE_SERVICES.get(name)
    if found is None:
        raise AccessError(f"{name!r} is not a service: "
                          f"{', '.join(sorted({*SERVICES, *FUTURE_SERVICES}))}")
    return found


# -- the README's table ---------------------------------------------------------------------


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "-"


def _rows() -> Iterator[str]:
    yield "| principal | kind | writes | reads | its own topics and consumer groups |"
    yield "|---|---|---|---|---|"
    yield (f"| `{OPERATOR}` | operator (super user) | every topic | every topic, the only "
           "reader of `iom.audit` | creates topics and principals |")
    for grant in (*SERVICES.values(), *FUTURE_SERVICES.values()):
        own = [f"{p}*" for p in grant.own_prefixes] + list(grant.own_topics)
        groups = [f"{p}*" for p in grant.group_prefixes]
        yield (f"| `{grant.principal}` | {grant.kind} | {_names(grant.produce)} | "
               f"{_names(grant.consume)} | topics {_names(own)}; groups {_names(groups)} |")
    for kind, names in AGENCY_WRITERS.items():
        yield (f"| an agency (`iom credentials create`) | {kind} | at most {_names(names)} | "
               "what its information sharing agreement gives (never `iom.audit`) | "
               "groups `NAME-*` |")


def markdown_table() -> str:
    return "\n".join(_rows()) + "\n"


START, END = "<!-- acl-table: generated by python -m iomkit.access -->", "<!-- acl-table end -->"


def with_table(readme: str) -> str:
    """``readme`` with the text between the table's markers replaced by the table."""
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{markdown_table()}{END}{tail}"


if __name__ == "__main__":  # prints the table; --write puts it into README.md
    from iomkit.settings import ROOT

    if sys.argv[1:] == ["--write"]:
        readme = ROOT / "README.md"
        readme.write_text(with_table(readme.read_text()))
    else:
        sys.stdout.write(markdown_table())
