"""Generates iomkit/records.py, one Faust Record per schema, so agents get typed records.

Run ``python -m iomkit.records_gen`` after changing a schema; a unit test fails while the
generated file is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET = HERE / "records.py"
PRIMITIVES = {
    "string": "str", "boolean": "bool", "int": "int", "long": "int", "float": "float",
    "double": "float", "bytes": "bytes", "null": "None",
}
LOGICAL = {"date": "date", "timestamp-millis": "datetime"}


def python_type(avro: Any, named: dict[str, str]) -> str:
    if isinstance(avro, list):
        parts = [python_type(branch, named) for branch in avro]
        return " | ".join(p for p in parts if p != "None") + (" | None" if "None" in parts else "")
    if isinstance(avro, str):
        return PRIMITIVES.get(avro) or named.get(avro, "str")
    if avro.get("logicalType") in LOGICAL:
        return LOGICAL[avro["logicalType"]]
    kind = avro["type"]
    if kind == "enum":
        named[avro["name"]] = "str"
        return "str"
    if kind == "record":
        named[avro["name"]] = "dict[str, Any]"
        for field in avro["fields"]:
            python_type(field["type"], named)
        return "dict[str, Any]"
    if kind == "array":
        return f"list[{python_type(avro['items'], named)}]"
    if kind == "map":
        return f"dict[str, {python_type(avro['values'], named)}]"
    return python_type(kind, named)


def render(schemas_dir: Path) -> str:
    lines = [
        '"""Typed records of the contract, generated from schemas/*.avsc by',
        "``python -m iomkit.records_gen``: do not edit by hand.",
        "",
        "Enums are their symbol strings; nested records are dicts. Every field is always",
        'present on a decoded value (the reader schema fills defaults), so none has a default."""',
        "",
        "from __future__ import annotations",
        "",
        "from datetime import date, datetime",
        "from typing import Any",
        "",
        "import faust",
        "",
    ]
    names = []
    for path in sorted(schemas_dir.glob("*.avsc")):
        schema = json.loads(path.read_text())
        names.append(schema["name"])
        named: dict[str, str] = {}
        lines += ["", f"class {schema['name']}(faust.Record, serializer='raw'):"]
        doc = schema.get("doc", "").replace('"""', "'")
        lines.append(f'    """{doc}"""' if len(doc) < 88 else f'    """{doc[:85]}..."""')
        lines.append("")
        for field in schema["fields"]:
            lines.append(f"    {field['name']}: {python_type(field['type'], named)}")
        lines.append("")
    lines += ["", "RECORD_TYPES: dict[str, type[faust.Record]] = {"]
    lines += [f"    {name!r}: {name}," for name in names]
    lines += ["}", ""]
    return "\n".join(lines)


def main() -> None:
    TARGET.write_text(render(HERE.parent / "schemas"))
    sys.stderr.write(f"wrote {TARGET}\n")


if __name__ == "__main__":
    main()
