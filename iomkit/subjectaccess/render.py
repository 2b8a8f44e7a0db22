"""The export as a document (JSON) and as a readable page (HTML: no script, every value
escaped, a policy that lets none run). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

import orjson

SHOWN = 200  # records of one topic on the page; every one is in the JSON
CSP = "default-src 'none'; style-src 'unsafe-inline'"


@dataclass
class Found:
    """One record held about the person."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: str | None
    read_as: str
    value: Any


@dataclass
class Export:
    person: str
    made_at: datetime
    by: str
    topics_read: dict[str, int] = field(default_factory=dict)  # topic -> records read
    found: list[Found] = field(default_factory=list)

    def by_topic(self) -> dict[str, list[Found]]:
        grouped: dict[str, list[Found]] = {}
        for f in self.found:
            grouped.setdefault(f.topic, []).append(f)
        return grouped

    def counts(self) -> dict[str, int]:
        return {topic: len(found) for topic, found in self.by_topic().items()}

    def document(self) -> dict[str, Any]:
        grouped = self.by_topic()
        return {
            "person_id": self.person, "made_at": self.made_at.isoformat(), "by": self.by,
            "records": len(self.found),
            "held_in": {topic: [{"partition": f.partition, "offset": f.offset,
                                 "timestamp_ms": f.timestamp_ms, "key": f.key,
                                 "read_as": f.read_as, "value": f.value} for f in found]
                        for topic, found in sorted(grouped.items())},
            "topics_read": dict(sorted(self.topics_read.items())),
            "nothing_held_in": sorted(t for t in self.topics_read if t not in grouped),
        }


def json_bytes(export: Export) -> bytes:
    return orjson.dumps(export.document(), default=_plain,
                        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _pretty(value: Any) -> str:
    return orjson.dumps(value, default=_plain,
                        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def html(export: Export) -> str:
    grouped = export.by_topic()
    rows = "".join(f"<tr><td>{escape(topic)}</td><td>{len(grouped.get(topic, []))}</td>"
                   f"<td>{n}</td></tr>" for topic, n in sorted(export.topics_read.items()))
    sections = []
    for topic, found in sorted(grouped.items()):
        items = "".join(
            f"<tr><td>{f.partition}/{f.offset}</td>"
            f"<td>{escape(_moment(f.timestamp_ms))}</td><td>{escape(f.key or '')}</td>"
            f"<td><pre>{escape(_pretty(f.value))}</pre></td></tr>" for f in found[:SHOWN])
        more = (f"<p>{len(found) - SHOWN} more records: see the JSON file.</p>"
                if len(found) > SHOWN else "")
        sections.append(
            f"<section><h2>{escape(topic)} ({len(found)})</h2><table><thead><tr>"
            "<th>partition/offset</th><th>written (UTC)</th><th>key</th><th>record</th>"
            f"</tr></thead><tbody>{items}</tbody></table>{more}</section>")
    person = escape(export.person)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>Subject access: {person}</title><style>body{{font-family:sans-serif;"
        "margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;"
        "padding:4px;vertical-align:top;text-align:left}pre{margin:0;white-space:pre-wrap}"
        "</style></head><body><main>"
        f"<h1>Everything Throughcare holds about {person}</h1>"
        f"<p>Made {escape(export.made_at.strftime('%d %B %Y %H:%M UTC'))} by "
        f"{escape(export.by)}: {len(export.found)} records in {len(grouped)} places. Every "
        "service's store is built from the topics and changelogs read here.</p>"
        "<h2>Where it was looked for</h2><table><thead><tr><th>topic</th><th>about this "
        f"person</th><th>records read</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{''.join(sections)}</main></body></html>\n")


def _moment(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else ""
