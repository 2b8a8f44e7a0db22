"""Forgetting old entries of a service's tables: the rule, pure.

A Faust table only grows (its store on disk, its changelog): nothing in Faust removes a
key of a table that is not windowed. Entries written with ``stamped`` carry when they were
written and the partition they were written from (outside an agent Faust cannot tell a
key's partition, and its tombstone must go to that partition of the changelog);
``to_forget`` says which go.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from typing import Any

AT, PARTITION = "_at_ms", "_partition"


def stamped(value: Mapping[str, Any], at_ms: int, partition: int) -> dict[str, Any]:
    return {**value, AT: at_ms, PARTITION: partition}


def unstamped(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in (AT, PARTITION)}


def to_forget(entries: Iterable[tuple[Any, Any]], cutoff_ms: int, active: Container[int]
              ) -> tuple[list[tuple[Any, int]], list[Any]]:
    """Entries written before ``cutoff_ms``: (those of this worker's ``active`` partitions,
    with their partition: forgotten with a tombstone; those of partitions that are not its
    own any more: dropped from memory only, their owner forgets them). An entry without a
    stamp is kept."""
    owned: list[tuple[Any, int]] = []
    left: list[Any] = []
    for key, value in entries:
        if not isinstance(value, Mapping) or not isinstance(value.get(AT), int) \
                or value[AT] >= cutoff_ms:
            continue
        partition = value.get(PARTITION)
        if isinstance(partition, int) and partition in active:
            owned.append((key, partition))
        else:
            left.append(key)
    return owned, left
