"""The crimes the console's evidence map draws: the latest version of each crime, kept as
long as fixes are (``IOM_NOTIFY_CRIME_DAYS`` after the crime). Pure: every worker feeds it
from ``iom.crimes.reported`` and prunes it on a timer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

Crime = dict[str, Any]  # a CrimeReported value


class MapCrimes:
    def __init__(self) -> None:
        self._latest: dict[str, Crime] = {}  # crime_ref -> its highest version read

    def keep(self, crime: Crime) -> None:
        """A version read from the topic; an older one than held changes nothing."""
        known = self._latest.get(crime["crime_ref"])
        if known is None or known["version"] < crime["version"]:
            self._latest[crime["crime_ref"]] = crime

    def get(self, crime_ref: str | None) -> Crime | None:
        return self._latest.get(crime_ref) if crime_ref is not None else None

    def __contains__(self, crime_ref: object) -> bool:
        return crime_ref in self._latest

    def __len__(self) -> int:
        return len(self._latest)

    def forget_before(self, cutoff: datetime) -> int:
        """Forget the crimes that ended (``committed_to``) before ``cutoff``; how many."""
        old = [ref for ref, crime in self._latest.items() if crime["committed_to"] < cutoff]
        for ref in old:
            del self._latest[ref]
        return len(old)
