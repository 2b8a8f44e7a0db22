"""Once per hit: a recipient is paged once per hit, told once if it is withdrawn, and later
revisions only update the console. Pure: the caller keeps the state in a Faust table keyed
by (hit, recipient), so a replay after a crash decides the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from iomkit.forgetting import unstamped


class Action(Enum):
    PAGE = "PAGE"  # tell the recipient now (HIT)
    UPDATE = "UPDATE"  # newer evidence: the console shows it, nobody is paged
    WITHDRAW = "WITHDRAW"  # tell the recipient the hit no longer stands (HIT_WITHDRAWN)
    NOTHING = "NOTHING"  # a replay, an older revision, or a hit withdrawn before it paged


@dataclass(frozen=True)
class HitState:
    revision: int
    status: str  # the last status acted on: ACTIVE or WITHDRAWN
    # A hit withdrawn and later matched again (a third crime version) is a new episode: its
    # page and withdrawal carry new notification ids, since the old ones were already used.
    episode: int = 1
    paged: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "status": self.status, "episode": self.episode,
                "paged": self.paged}

    @classmethod
    def of(cls, value: dict[str, Any] | None) -> HitState | None:
        return None if value is None else cls(**unstamped(value))


def decide(state: HitState | None, revision: int, status: str) -> tuple[Action, HitState | None]:
    """What to do with revision ``revision`` (status ACTIVE or WITHDRAWN) of a hit, given
    what was done for this recipient before; returns the action and the new state."""
    if state is not None and revision <= state.revision:
        return Action.NOTHING, state  # at-least-once redelivery, or out of date
    if status == "WITHDRAWN":
        if state is None or not state.paged:
            # never paged: there is nothing to withdraw; remember the revision
            return Action.NOTHING, HitState(revision, status, 1 if state is None
                                            else state.episode, paged=False)
        if state.status == "WITHDRAWN":
            return Action.NOTHING, HitState(revision, status, state.episode)
        return Action.WITHDRAW, HitState(revision, status, state.episode)
    if state is None:
        return Action.PAGE, HitState(revision, status)
    if not state.paged:
        return Action.PAGE, HitState(revision, status, state.episode)
    if state.status == "WITHDRAWN":
        return Action.PAGE, HitState(revision, status, state.episode + 1)
    return Action.UPDATE, HitState(revision, status, state.episode)


def source_of(hit_id: str, episode: int) -> str:
    return hit_id if episode == 1 else f"{hit_id}#{episode}"
