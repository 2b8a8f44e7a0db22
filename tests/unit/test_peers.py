"""Which workers a service knows: live ones listed, silent ones forgotten."""

from __future__ import annotations

from iomkit.peers import ALIVE_S, FORGET_S, Peers
from iomkit.settings import Settings


def peers_at(now: list[float]) -> Peers:
    peers = Peers(Settings(), "gps_stream", clock=lambda: now[0])
    peers.url = "http://10.0.0.1:6063"
    return peers


def test_other_live_workers_with_partitions_are_listed() -> None:
    now = [1_000_000.0]
    peers = peers_at(now)
    peers.heard(peers.url, {"url": peers.url, "partitions": [0, 1], "at": now[0]})
    peers.heard("http://10.0.0.2:6063", {"partitions": [2, 3], "at": now[0] - 5})
    peers.heard("http://10.0.0.3:6063", {"partitions": [], "at": now[0]})  # owns nothing
    peers.heard("http://10.0.0.4:6063", {"partitions": [4], "at": now[0] - ALIVE_S})
    assert peers.others() == ["http://10.0.0.2:6063"]


def test_a_worker_address_per_restart_does_not_grow_the_map_for_ever() -> None:
    now = [1_000_000.0]
    peers = peers_at(now)
    for restart in range(500):  # a new pod address every 10 minutes for 3.5 days
        now[0] += 600
        peers.heard(f"http://10.1.{restart // 250}.{restart % 250}:6063",
                    {"partitions": [0], "at": now[0]})
    assert peers.known() == FORGET_S // 600
    assert len(peers.others()) == 1  # only the newest is alive
