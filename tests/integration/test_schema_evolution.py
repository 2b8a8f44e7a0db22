"""Schema evolution through the real broker: an old writer and a new reader, and the
reverse. Readers resolve the writer's fingerprint against every schema they know."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from iomkit import testing
from iomkit.codec import Codec, SchemaRegistry
from iomkit.jsonconv import from_json
from iomkit.settings import ROOT
from iomkit.topics import PEOPLE

pytestmark = pytest.mark.integration


def registry_with(tmp: Path, current: dict, released: dict | None) -> Codec:
    (tmp / "released" / "v1").mkdir(parents=True)
    (tmp / "Person.avsc").write_text(json.dumps(current))
    if released is not None:
        (tmp / "released" / "v1" / "Person.avsc").write_text(json.dumps(released))
    return Codec(SchemaRegistry(tmp))


@pytest.fixture
def schemas(tmp_path: Path) -> tuple[dict, dict]:
    v1 = json.loads((ROOT / "schemas" / "Person.avsc").read_text())
    v2 = json.loads(json.dumps(v1))
    v2["fields"].append({"name": "preferred_name", "type": ["null", "string"],
                         "default": None, "doc": "What the person likes to be called."})
    return v1, v2


def person(codec: Codec, person_id: str, **extra: object) -> dict:
    raw = json.loads((ROOT / "schemas/examples/Person.json").read_text())
    raw.update(person_id=person_id, **extra)
    return from_json(codec.registry.current("Person").raw, raw)


async def read_back(settings, codec: Codec, person_id: str) -> dict:
    async with testing.Reader(settings, codec, PEOPLE.name) as reader:
        seen = await reader.wait_for(lambda s: any(r.key == person_id.encode() for r in s))
    return next(r.value for r in seen if r.key == person_id.encode())


async def test_old_writer_new_reader(settings, tmp_path, schemas):
    v1, v2 = schemas
    old = registry_with(tmp_path / "old", v1, None)
    new = registry_with(tmp_path / "new", v2, v1)
    pid = f"P-evolve-old-{uuid.uuid4().hex[:6]}"
    await testing.produce(settings, old, PEOPLE, [person(old, pid)])
    value = await read_back(settings, new, pid)
    assert value["person_id"] == pid
    assert value["preferred_name"] is None  # the new field's default


async def test_new_writer_old_reader(settings, tmp_path, schemas):
    v1, v2 = schemas
    new = registry_with(tmp_path / "new", v2, v1)
    # An old reader that has been given the new schema to resolve, but reads as v1.
    old = registry_with(tmp_path / "old", v1, v2)
    pid = f"P-evolve-new-{uuid.uuid4().hex[:6]}"
    await testing.produce(settings, new, PEOPLE, [person(new, pid, preferred_name="Jo")])
    value = await read_back(settings, old, pid)
    assert value["person_id"] == pid
    assert "preferred_name" not in value  # dropped: the old reader does not know it
    assert value["current_offence"] == "CRIMINAL_DAMAGE"
