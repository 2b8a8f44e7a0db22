"""The subscriptions file: validated at start, with messages naming file, recipient, field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from services.notifications import subscriptions
from services.notifications.subscriptions import SubscriptionError, load, parse, route

ENV = {"SECRET_A": "a" * 32, "SECRET_B": "b" * 32}


def entry(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "hants", "role": "POLICE", "kinds": ["HIT"], "forces": ["Hampshire"],
        "url": "https://police.example/hook", "secret_env": "SECRET_A",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def problem(*entries: dict[str, object]) -> str:
    with pytest.raises(SubscriptionError) as caught:
        parse({"recipient": list(entries)}, ENV, "subs.toml")
    return str(caught.value)


def test_the_shipped_file_is_valid() -> None:
    path = Path(subscriptions.__file__).with_name("subscriptions.toml")
    names = [e["secret_env"] for e in tomllib.loads(path.read_text())["recipient"]]
    recipients = load(path, {name: "x" * 32 for name in names})
    assert {r.role for r in recipients} == {"POLICE", "PROBATION", "PARTNER_HOUSING",
                                            "DRUG_ALCOHOL"}
    assert all(r.agency for r in recipients if r.role in ("PARTNER_HOUSING", "DRUG_ALCOHOL"))


def test_a_valid_entry() -> None:
    [r] = parse({"recipient": [entry(email="iom@police.example")]}, ENV)
    assert r.secret == "a" * 32 and r.kinds == {"HIT"} and r.email == "iom@police.example"


@pytest.mark.parametrize("overrides,field,words", [
    ({"role": "POLICEMAN"}, "role", "'POLICEMAN' is not a role"),
    ({"kinds": ["HITS"]}, "kinds", "unknown kind 'HITS'"),
    ({"kinds": []}, "kinds", "missing or empty"),
    ({"forces": ["Hamshire"]}, "forces", "unknown force 'Hamshire'"),
    ({"url": None}, "url", "missing"),
    ({"url": "ftp://x/y"}, "url", "not an http(s) URL"),
    ({"secret_env": None}, "secret_env", "missing"),
    ({"secret_env": "UNSET"}, "secret_env", "UNSET is unset"),
    ({"secret": "inline!"}, "secret", "unknown field"),
    ({"email": "nobody"}, "email", "not an e-mail"),
    ({"role": "PARTNER_HOUSING", "kinds": ["HIT"]}, "kinds",
     "role PARTNER_HOUSING does not allow HIT"),
])
def test_mistakes_name_file_recipient_and_field(overrides, field, words) -> None:
    message = problem(entry(**overrides))
    assert message.startswith("subs.toml: recipient 'hants': field " + field + ":"), message
    assert words in message


def test_duplicate_recipients_are_refused() -> None:
    message = problem(entry(), entry(secret_env="SECRET_B"))
    assert "recipient 'hants': field name: duplicate" in message


def test_missing_name_and_bad_toml(tmp_path: Path) -> None:
    assert "recipient #1: field name: missing" in problem(entry(name=None))
    bad = tmp_path / "s.toml"
    bad.write_text("[[recipient]\n")
    with pytest.raises(SubscriptionError, match="not valid TOML"):
        load(bad, ENV)
    with pytest.raises(SubscriptionError, match="cannot read"):
        load(tmp_path / "none.toml", ENV)


def test_routing_by_kind_and_force() -> None:
    police, national, housing = parse({"recipient": [
        entry(kinds=["HIT", "GRADE_CHANGE"]),
        entry(name="hub", role="CENTRAL", kinds=["HIT"], forces=["*"]),
        entry(name="housing", role="PARTNER_HOUSING", kinds=["GRADE_CHANGE"]),
    ]}, ENV)
    assert route([police, national, housing], "HIT", "Hampshire") == [police, national]
    assert route([police, national, housing], "HIT_WITHDRAWN", "Kent") == [national]
    assert route([police, national, housing], "GRADE_CHANGE", "Hampshire") == [police, housing]
    assert route([police, national, housing], "ZONE_BREACH", "Hampshire") == []
    assert route([police], "HIT", None) == []


def test_a_recipient_may_have_its_own_attempts() -> None:
    [r] = parse({"recipient": [entry(max_attempts=3)]}, ENV)
    assert r.max_attempts == 3
    assert "field max_attempts" in problem(entry(max_attempts=0))


def test_https_only_except_on_this_machine_and_secrets_never_shown(tmp_path) -> None:
    from services.notifications.subscriptions import SubscriptionError, load

    def one(url: str) -> str:
        path = tmp_path / "s.toml"
        path.write_text('[[recipient]]\nname = "r"\nrole = "POLICE"\nkinds = ["HIT"]\n'
                        f'forces = ["Kent"]\nurl = "{url}"\nsecret_env = "S"\n')
        return path

    secret = "a-very-secret-signing-key"
    for url in ("https://police.example/hooks", "http://127.0.0.1:9/h", "http://localhost/h"):
        (recipient,) = load(one(url), {"S": secret})
        assert secret not in repr(recipient) and secret not in str(recipient)
    with pytest.raises(SubscriptionError, match="https only"):
        load(one("http://police.example/hooks"), {"S": secret})


def test_a_partner_is_told_of_its_own_agencys_actions_only() -> None:
    police, drugs, housing = parse({"recipient": [
        entry(kinds=["ACTION_OVERDUE"]),
        entry(name="drugs", role="DRUG_ALCOHOL", kinds=["ACTION_ASSIGNED", "ACTION_OVERDUE"],
              agency="Inclusion  hampshire"),
        entry(name="housing", role="PARTNER_HOUSING", kinds=["ACTION_ASSIGNED"],
              agency="Southampton Housing"),
    ]}, ENV)
    everyone = [police, drugs, housing]
    assert drugs.agency == "Inclusion  hampshire"
    # matched as the actions page matches agencies: case and spacing do not matter
    assert route(everyone, "ACTION_ASSIGNED", "Hampshire", "Inclusion Hampshire") == [drugs]
    assert route(everyone, "ACTION_ASSIGNED", "Hampshire", "southampton housing") == [housing]
    assert route(everyone, "ACTION_OVERDUE", "Hampshire", "Inclusion Hampshire") == [
        police, drugs]  # police of the force: every agency's overdue actions
    assert route(everyone, "ACTION_ASSIGNED", "Hampshire", "Kent Housing") == []
    assert route(everyone, "ACTION_ASSIGNED", "Hampshire", None) == []
    assert route(everyone, "ACTION_ASSIGNED", "Kent", "Inclusion Hampshire") == []


def test_a_partner_subscribing_to_actions_names_its_agency() -> None:
    message = problem(entry(role="VOLUNTARY", kinds=["ACTION_ASSIGNED"]))
    assert "field agency: a VOLUNTARY recipient of plan actions names its agency" in message
    assert "field agency: must be a string" in problem(entry(agency=3))
    assert "does not allow SASH" in problem(entry(role="VOLUNTARY", kinds=["SASH"],
                                                 agency="Society of St James"))
