"""Users (argon2) and the users file."""

from __future__ import annotations

from pathlib import Path

import pytest

from iomkit.identity.principal import Principal
from iomkit.identity.users import (
    User,
    UsersError,
    add_user,
    authenticate,
    hash_password,
    load,
    main,
)


def test_add_load_and_authenticate(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "hants.officer", "correct horse battery", "Hampshire", "POLICE")
    add_user(path, "hub", "another long password", "*", "CENTRAL")
    users = load(path)
    assert users["hants.officer"].force == "Hampshire"
    assert "correct horse" not in path.read_text()  # only the hash is stored
    assert authenticate(users, "hants.officer", "correct horse battery") == \
        users["hants.officer"]
    assert authenticate(users, "hants.officer", "wrong") is None
    assert authenticate(users, "nobody", "correct horse battery") is None
    with pytest.raises(UsersError, match="exists"):
        add_user(path, "hub", "x" * 20, "*", "CENTRAL")


def test_file_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "u.toml"
    digest = hash_password("a long enough password")
    for body, words in [
        (f'[[user]]\nusername="x"\nhash="{digest}"\nforce="Hamshire"\nrole="POLICE"\n',
         "unknown force"),
        (f'[[user]]\nusername="x"\nhash="{digest}"\nforce="*"\nrole="POLICE"\n',
         "only roles CENTRAL, DATA_PROTECTION, OPERATIONS may see every force"),
        ('[[user]]\nusername="x"\nhash="plain"\nforce="Kent"\nrole="POLICE"\n',
         "not an argon2 hash"),
        (f'[[user]]\nusername="x"\nhash="{digest}"\nforce="Kent"\nrole="BOSS"\n',
         "field role"),
    ]:
        path.write_text(body)
        with pytest.raises(UsersError, match=words):
            load(path)
    assert load(tmp_path / "missing.toml") == {}


def test_forces_and_a_partner_agency(tmp_path: Path) -> None:
    path = tmp_path / "u.toml"
    digest = hash_password("a long enough password")
    path.write_text(f'[[user]]\nusername="two"\nhash="{digest}"\nforces=["Kent","Essex"]\n'
                    'role="POLICE"\n')
    assert load(path)["two"].forces == ("Kent", "Essex")
    path.write_text(f'[[user]]\nusername="h"\nhash="{digest}"\nforce="Kent"\n'
                    'role="PARTNER_HOUSING"\n')
    with pytest.raises(UsersError, match="agency"):
        load(path)
    add_user(tmp_path / "p.toml", "h", "a long enough password", "Kent", "PARTNER_HOUSING",
             agency="Kent Housing")
    user = load(tmp_path / "p.toml")["h"]
    assert user.principal("sid").agency == "Kent Housing"
    assert digest not in repr(User("u", digest, ("Kent",), "POLICE"))  # never in a log


def test_user_sees_own_force_only() -> None:
    assert Principal("u", ("Kent",), "POLICE").sees("Kent")
    assert not Principal("u", ("Kent",), "POLICE").sees("Hampshire")
    assert not Principal("u", ("Kent",), "POLICE").sees(None)
    assert Principal("hub", ("*",), "CENTRAL").sees("Hampshire")
    assert Principal("two", ("Kent", "Essex"), "POLICE").sees("Essex")


def test_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("a very long password\n"))
    assert main(["add", str(tmp_path / "u.toml"), "--username", "x", "--force", "Kent",
                 "--role", "POLICE"]) == 0
    assert "x" in load(tmp_path / "u.toml")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["hash"]) == 2


@pytest.mark.parametrize("role", ["DRUG_ALCOHOL", "MENTAL_HEALTH", "YOT", "PRISON",
                                  "LOCAL_AUTHORITY", "VOLUNTARY"])
def test_every_partner_beyond_housing_names_its_agency_and_one_force(tmp_path: Path,
                                                                     role: str) -> None:
    digest = hash_password("a long enough password")
    path = tmp_path / "u.toml"
    path.write_text(f'[[user]]\nusername="p"\nhash="{digest}"\nforce="Hampshire"\n'
                    f'role="{role}"\n')
    with pytest.raises(UsersError, match="a partner names their agency"):
        load(path)
    path.write_text(f'[[user]]\nusername="p"\nhash="{digest}"\nforce="*"\nrole="{role}"\n'
                    'agency="Anyone"\n')
    with pytest.raises(UsersError, match="may see every force"):
        load(path)
    add_user(tmp_path / "ok.toml", "p", "a long enough password", "Hampshire", role,
             agency="Solent Mind")
    assert load(tmp_path / "ok.toml")["p"].principal("s").agency == "Solent Mind"
