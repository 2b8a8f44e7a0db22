"""Per-recipient ordered delivery with retries, instant (sleep and random injected)."""

from __future__ import annotations

import asyncio
from typing import Any

from services.notifications.backoff import Backoff
from services.notifications.outbox import DeliveryError, Outbox
from tests.unit.notifications.support import T0, recipient

A = recipient("a", "POLICE", ("HIT",))
B = recipient("b", "POLICE", ("HIT",))


class World:
    def __init__(self, failures: dict[str, int] | None = None) -> None:
        self.failures = dict(failures or {})  # notification id -> attempts that fail
        self.delivered: list[tuple[str, str]] = []
        self.published: list[tuple[str, str, int]] = []
        self.audited: list[str] = []
        self.dead: list[tuple[str, str]] = []
        self.slept: list[float] = []

    async def transport(self, r: Any, n: dict[str, Any]) -> None:
        if self.failures.get(n["notification_id"], 0) > 0:
            self.failures[n["notification_id"]] -= 1
            raise DeliveryError("HTTP 503")
        self.delivered.append((r.name, n["notification_id"]))

    async def publish(self, n: dict[str, Any]) -> None:
        self.published.append((n["notification_id"], n["state"], n["attempts"]))

    async def delivered_hook(self, n: dict[str, Any]) -> None:
        self.audited.append(n["notification_id"])

    async def failed(self, n: dict[str, Any], reason: str) -> None:
        self.dead.append((n["notification_id"], reason))

    async def sleep(self, s: float) -> None:
        self.slept.append(s)

    def outbox(self, attempts: int = 4, limit: int = 10_000) -> Outbox:
        return Outbox([A, B], self.transport, self.publish, self.delivered_hook, self.failed,
                      Backoff(1.0, 8.0, attempts, random=lambda: 0.5), sleep=self.sleep,
                      clock=lambda: T0, limit=limit)


def note(nid: str, to: str = "a") -> dict[str, Any]:
    return {"notification_id": nid, "recipient": to, "kind": "HIT", "source_id": nid,
            "person_id": "P-1", "state": "PENDING", "attempts": 0, "payload": "{}",
            "created_at": T0, "updated_at": T0}


async def test_delivered_in_order_with_retries_holding_the_queue() -> None:
    world = World({"n1": 2})
    box = world.outbox()
    for nid in ("n1", "n2", "n3"):
        assert await box.put(note(nid))
    await box.drain()
    assert world.delivered == [("a", "n1"), ("a", "n2"), ("a", "n3")]
    assert world.published[:3] == [("n1", "RETRYING", 1), ("n1", "RETRYING", 2),
                                   ("n1", "DELIVERED", 3)]
    assert world.slept == [0.5, 1.0]  # full jitter at 0.5 of 1 s, then of 2 s
    assert world.audited == ["n1", "n2", "n3"]
    await box.close()


async def test_after_the_last_attempt_failed_and_dead_lettered_then_the_queue_moves_on() -> None:
    world = World({"n1": 99})
    box = world.outbox(attempts=3)
    await box.put(note("n1"))
    await box.put(note("n2"))
    await box.drain()
    assert world.published[2] == ("n1", "FAILED", 3)
    assert world.dead[0][0] == "n1" and "gave up after 3 attempts: HTTP 503" in world.dead[0][1]
    assert world.delivered == [("a", "n2")]
    # redelivery by command: the FAILED notification goes round again, attempts counting on
    world.failures.clear()
    failed = {**note("n1"), "state": "FAILED", "attempts": 3}
    assert await box.put(failed)
    await box.drain()
    assert world.delivered[-1] == ("a", "n1") and world.published[-1] == ("n1", "DELIVERED", 4)
    await box.close()


async def test_recipients_do_not_wait_for_each_other_and_duplicates_are_not_queued() -> None:
    world = World({"a1": 1})
    box = world.outbox()
    await box.put(note("a1", "a"))
    assert not await box.put(note("a1", "a"))  # already waiting
    await box.put(note("b1", "b"))
    await box.drain()
    assert sorted(world.delivered) == [("a", "a1"), ("b", "b1")]
    assert box.pending() == 0
    await box.close()


async def test_a_full_queue_makes_put_wait_until_the_receiver_takes_one() -> None:
    # a receiver that is down: nothing is delivered until it comes back
    world = World()
    back = asyncio.Event()

    async def down_until_back(r: Any, n: dict[str, Any]) -> None:
        await back.wait()
        world.delivered.append((r.name, n["notification_id"]))
    box = world.outbox(limit=2)
    box.transport = down_until_back
    for nid in ("n1", "n2", "n3"):  # n1 in flight, n2 and n3 fill the queue of 2
        assert await box.put(note(nid))
        await asyncio.sleep(0)
    fourth = asyncio.ensure_future(box.put(note("n4")))
    other = await box.put(note("b1", "b"))  # another recipient's queue is its own
    await asyncio.sleep(0.01)
    assert not fourth.done() and other  # held back: memory stays at the limit
    assert box.pending() == 5
    back.set()
    assert await asyncio.wait_for(fourth, 1.0)
    await box.drain()
    assert [n for _, n in world.delivered if n.startswith("n")] == ["n1", "n2", "n3", "n4"]


async def test_a_put_cancelled_while_waiting_leaves_the_notification_to_a_later_put() -> None:
    # the agent stopped (a rebalance) while the queue was full: the recovery queues it again
    world = World()
    back = asyncio.Event()

    async def down_until_back(r: Any, n: dict[str, Any]) -> None:
        await back.wait()
        world.delivered.append((r.name, n["notification_id"]))
    box = world.outbox(limit=1)
    box.transport = down_until_back
    for nid in ("n1", "n2"):  # n1 in flight, n2 fills the queue of 1
        assert await box.put(note(nid))
        await asyncio.sleep(0)
    waiting = asyncio.ensure_future(box.put(note("n3")))
    await asyncio.sleep(0.01)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    back.set()
    assert await box.put(note("n3"))
    await box.drain()
    assert [n for _, n in world.delivered] == ["n1", "n2", "n3"]


async def test_what_it_finished_is_remembered_so_the_same_notification_is_not_made_again(
) -> None:
    world = World({"n2": 99})
    box = world.outbox(attempts=2)
    await box.put(note("n1"))
    await box.put(note("n2"))
    assert "n1" not in box.finished  # waiting or in flight: not finished yet
    await box.drain()
    assert "n1" in box.finished and "n2" in box.finished  # delivered; failed for good
    assert "n3" not in box.finished
    await box.close()


def test_recent_ids_are_bounded_the_oldest_forgotten_first() -> None:
    from services.notifications.recent import Recent

    recent = Recent(limit=2)
    for nid in ("a", "b", "c"):
        recent.add(nid)
    assert "a" not in recent and "b" in recent and "c" in recent and len(recent) == 2
    recent.add("b")  # again: now the newest
    recent.add("d")
    assert "c" not in recent and "b" in recent and "d" in recent
