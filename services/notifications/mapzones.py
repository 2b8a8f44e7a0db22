"""The exclusion and inclusion zones the console draws under a zone breach: the latest
version of each zone, forgotten ``IOM_NOTIFY_CRIME_DAYS`` after it stopped being active (a
zone without an end is kept while it is in force). Pure: every worker feeds it from
``iom.exclusion-zones`` and prunes it on a timer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

Zone = dict[str, Any]  # an ExclusionZone value


class MapZones:
    def __init__(self) -> None:
        self._latest: dict[str, Zone] = {}  # zone_id -> its highest version read

    def keep(self, zone: Zone) -> None:
        known = self._latest.get(zone["zone_id"])
        if known is None or known["version"] < zone["version"]:
            self._latest[zone["zone_id"]] = zone

    def get(self, zone_id: str | None) -> Zone | None:
        return self._latest.get(zone_id) if zone_id is not None else None

    def __contains__(self, zone_id: object) -> bool:
        return zone_id in self._latest

    def __len__(self) -> int:
        return len(self._latest)

    def forget_before(self, cutoff: datetime) -> int:
        """Forget the zones that ended (``active_to``) before ``cutoff``; how many."""
        old = [zid for zid, zone in self._latest.items()
               if zone["active_to"] is not None and zone["active_to"] < cutoff]
        for zid in old:
            del self._latest[zid]
        return len(old)
