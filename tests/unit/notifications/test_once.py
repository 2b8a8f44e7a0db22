"""Once per hit: page once, update quietly, withdraw once."""

from __future__ import annotations

from services.notifications.once import Action, HitState, decide, source_of


def run(steps: list[tuple[int, str]]) -> list[Action]:
    state: HitState | None = None
    actions = []
    for revision, status in steps:
        action, state = decide(state, revision, status)
        actions.append(action)
        state = HitState.of(state.as_dict()) if state else None  # survives the table
    return actions


def test_first_revision_pages_later_ones_update() -> None:
    assert run([(1, "ACTIVE"), (2, "ACTIVE"), (3, "ACTIVE")]) == [
        Action.PAGE, Action.UPDATE, Action.UPDATE]


def test_replays_and_older_revisions_do_nothing() -> None:
    assert run([(2, "ACTIVE"), (2, "ACTIVE"), (1, "ACTIVE")]) == [
        Action.PAGE, Action.NOTHING, Action.NOTHING]


def test_withdrawal_is_sent_once() -> None:
    assert run([(1, "ACTIVE"), (2, "WITHDRAWN"), (2, "WITHDRAWN"), (3, "WITHDRAWN")]) == [
        Action.PAGE, Action.WITHDRAW, Action.NOTHING, Action.NOTHING]


def test_a_hit_withdrawn_before_it_paged_is_never_sent() -> None:
    assert run([(3, "WITHDRAWN")]) == [Action.NOTHING]
    assert run([(3, "WITHDRAWN"), (4, "ACTIVE")]) == [Action.NOTHING, Action.PAGE]


def test_a_hit_matched_again_after_withdrawal_is_a_new_episode() -> None:
    state = None
    action, state = decide(state, 1, "ACTIVE")
    action, state = decide(state, 2, "WITHDRAWN")
    action, state = decide(state, 3, "ACTIVE")
    assert action is Action.PAGE and state is not None and state.episode == 2
    assert source_of("h1", state.episode) == "h1#2"
    assert source_of("h1", 1) == "h1"
