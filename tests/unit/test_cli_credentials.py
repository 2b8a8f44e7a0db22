"""`iom credentials create NAME --produce TOPIC... --consume TOPIC...`: the lists as typed."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from iomkit.cli import _topic_lists, app


def test_each_flag_takes_every_topic_after_it() -> None:
    lists = _topic_lists(["--produce", "iom.crimes.reported", "--consume", "iom.gps.hits",
                          "iom.zone-breaches"])
    assert lists == {"--produce": ["iom.crimes.reported"],
                     "--consume": ["iom.gps.hits", "iom.zone-breaches"]}


def test_comma_separated_and_repeated_flags_add_up() -> None:
    lists = _topic_lists(["--consume=iom.gps.hits,iom.people", "--consume", "iom.risk.grades"])
    assert lists["--consume"] == ["iom.gps.hits", "iom.people", "iom.risk.grades"]
    assert lists["--produce"] == []


def test_a_forbidden_grant_is_refused_before_the_broker_is_asked() -> None:
    result = CliRunner().invoke(app, ["credentials", "create", "police-x", "--consume",
                                      "iom.audit"])
    assert result.exit_code == 2
    assert "nobody but the operator reads it" in result.output


@pytest.mark.parametrize("tokens", [["iom.people"], ["--produce", "a", "--group", "g"]])
def test_anything_else_is_a_usage_error(tokens: list[str]) -> None:
    with pytest.raises(typer.Exit) as stopped:
        _topic_lists(tokens)
    assert getattr(stopped.value, "exit_code", None) == 2
