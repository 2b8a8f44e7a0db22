"""Avro schema-resolution compatibility, checked on raw JSON schemas (as loaded from .avsc).

``incompatibilities(reader, writer)`` lists why data written with ``writer`` could not be read
with ``reader`` under the Avro specification's resolution rules; an empty list means it can.
"""

from __future__ import annotations

from typing import Any

PROMOTIONS: dict[str, set[str]] = {
    "int": {"long", "float", "double"}, "long": {"float", "double"}, "float": {"double"},
    "string": {"bytes"}, "bytes": {"string"},
}
NAMED = ("record", "enum", "fixed")
Named = dict[str, dict[str, Any]]
Seen = frozenset[tuple[str, str]]


def incompatibilities(reader: dict[str, Any], writer: dict[str, Any]) -> list[str]:
    """Why ``reader`` cannot read what ``writer`` wrote; empty when it can."""
    errors: list[str] = []
    checker = _Checker(_collect(reader, "", {}), _collect(writer, "", {}))
    checker.resolve(reader, writer, _short(str(reader.get("name", "schema"))), errors, frozenset())
    return errors


def compatible_both_ways(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Problems with new reading old (backward) and old reading new (forward)."""
    return [f"new reading old: {e}" for e in incompatibilities(new, old)] + [
        f"old reading new: {e}" for e in incompatibilities(old, new)
    ]


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _collect(schema: Any, ns: str, named: Named) -> Named:
    """Every named type of a schema, by full and by short name."""
    if isinstance(schema, list):
        for branch in schema:
            _collect(branch, ns, named)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in NAMED:
            name = str(schema["name"])
            ns = name.rsplit(".", 1)[0] if "." in name else schema.get("namespace", ns)
            named[f"{ns}.{_short(name)}" if ns else name] = schema
            named.setdefault(_short(name), schema)
            for field in schema.get("fields", []):
                _collect(field["type"], ns, named)
        elif kind == "array":
            _collect(schema["items"], ns, named)
        elif kind == "map":
            _collect(schema["values"], ns, named)
        elif isinstance(kind, dict | list):
            _collect(kind, ns, named)
    return named


class _Checker:
    def __init__(self, reader_named: Named, writer_named: Named) -> None:
        self.rn = reader_named
        self.wn = writer_named

    @staticmethod
    def _deref(schema: Any, named: Named) -> Any:
        while isinstance(schema, dict) and (
            isinstance(schema["type"], list | dict)
            or (schema["type"] not in (*NAMED, "array", "map") and "logicalType" not in schema)
        ):
            schema = schema["type"]  # {"type": "string"}, {"type": "Rag"}, {"type": [...]}
        if isinstance(schema, str):
            return named.get(schema) or named.get(_short(schema)) or schema
        return schema

    @staticmethod
    def _label(schema: Any) -> str:
        if isinstance(schema, list):
            return "union"
        if isinstance(schema, str):
            return schema
        kind = schema["type"]
        return _short(str(schema["name"])) if kind in NAMED else str(kind)

    def resolve(self, reader: Any, writer: Any, path: str, errors: list[str], seen: Seen) -> None:
        r, w = self._deref(reader, self.rn), self._deref(writer, self.wn)
        if isinstance(w, list):
            for branch in w:
                self._to_union_or_type(r, branch, path, errors, seen)
            return
        if isinstance(r, list):
            self._to_union_or_type(r, w, path, errors, seen)
            return
        rk = r if isinstance(r, str) else r["type"]
        wk = w if isinstance(w, str) else w["type"]
        rl = r.get("logicalType") if isinstance(r, dict) else None
        wl = w.get("logicalType") if isinstance(w, dict) else None
        if rk != wk and rk in PROMOTIONS.get(wk, set()) and rl == wl is None:
            return
        if rk != wk:
            wt, rt = self._label(w), self._label(r)
            errors.append(f"{path}: writer type {wt} cannot be read as {rt}")
        elif rl != wl:
            errors.append(f"{path}: logicalType changed from {wl or 'none'} to {rl or 'none'}")
        elif rk in NAMED:
            self._named(r, w, path, errors, seen)
        elif rk == "array":
            self.resolve(r["items"], w["items"], f"{path}[]", errors, seen)
        elif rk == "map":
            self.resolve(r["values"], w["values"], f"{path}{{}}", errors, seen)

    def _to_union_or_type(self, r: Any, w: Any, path: str, errors: list[str], seen: Seen) -> None:
        """One writer (non-union) type must resolve to the reader type or a reader branch."""
        branches = r if isinstance(r, list) else [r]
        label = self._label(self._deref(w, self.wn))
        same: list[str] | None = None  # errors against the branch of the writer's type
        for branch in branches:
            attempt: list[str] = []
            self.resolve(branch, w, path, attempt, seen)
            if not attempt:
                return
            kin = len(branches) == 1 or self._label(self._deref(branch, self.rn)) == label
            if same is None and kin:
                same = attempt
        if same is not None:
            errors.extend(same)
        else:
            errors.append(f"{path}: writer type {label} matches no branch of the reader union")

    def _named(self, r: Any, w: Any, path: str, errors: list[str], seen: Seen) -> None:
        rname, wname = _short(str(r["name"])), _short(str(w["name"]))
        if wname != rname and wname not in {_short(a) for a in r.get("aliases", [])}:
            errors.append(f"{path}: writer {r['type']} {wname} is not reader {rname} (renamed)")
            return
        if (rname, wname) in seen:
            return  # a recursive type already being checked on this path
        seen = seen | {(rname, wname)}
        if r["type"] == "fixed" and r["size"] != w["size"]:
            errors.append(f"{path}: fixed size changed from {w['size']} to {r['size']}")
        elif r["type"] == "enum" and "default" not in r:
            for symbol in w["symbols"]:
                if symbol not in r["symbols"]:
                    errors.append(
                        f"{path}: writer symbol {symbol} not in reader and reader has no default"
                    )
        elif r["type"] == "record":
            by_name = {f["name"]: f for f in w["fields"]}
            for field in r["fields"]:
                names = [field["name"], *field.get("aliases", [])]
                match = next((by_name[n] for n in names if n in by_name), None)
                where = f"{path}.{field['name']}"
                if match is not None:
                    self.resolve(field["type"], match["type"], where, errors, seen)
                elif "default" not in field:
                    errors.append(f"{where}: reader field missing from writer and has no default")
