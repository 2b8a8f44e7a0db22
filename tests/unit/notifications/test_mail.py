"""E-mail through a local SMTP server (aiosmtpd): the courtesy copy names no one."""

from __future__ import annotations

from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from iomkit.processes import free_port
from services.notifications.mail import Mailer
from services.notifications.outbox import DeliveryError
from tests.unit.notifications.support import T0, recipient


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def note(kind: str = "HIT") -> dict[str, Any]:
    return {"notification_id": "n-123", "recipient": "police", "kind": kind,
            "source_id": "h1", "person_id": "P-secret-1", "state": "DELIVERED",
            "attempts": 1, "payload": '{"person_id": "P-secret-1", "fixes": []}',
            "created_at": T0, "updated_at": T0}


async def test_mail_is_sent_without_personal_data() -> None:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        police = recipient("police", "POLICE", ("HIT",))
        police = type(police)(**{**police.__dict__, "email": "iom@police.example"})
        mailer = Mailer("127.0.0.1", port, "throughcare@test.example")
        await mailer(police, note())
        await mailer(police, note("GRADE_CHANGE"))  # not a pager kind: no mail
        await mailer(recipient("pdu", "PROBATION", ("HIT",)), note())  # no address
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    to, message = inbox.messages[0]
    assert to == ["iom@police.example"]
    assert message["Subject"] == "Throughcare: new hit"
    text = message.get_payload()
    assert "n-123" in text and "P-secret" not in text and "fixes" not in text


async def test_an_unreachable_server_is_a_delivery_error() -> None:
    police = recipient("police", "POLICE", ("HIT",))
    police = type(police)(**{**police.__dict__, "email": "iom@police.example"})
    with pytest.raises(DeliveryError, match="SMTP"):
        await Mailer("127.0.0.1", free_port(), "x@y", timeout_s=1)(police, note())


async def test_a_partner_is_mailed_its_actions_and_pointed_at_its_actions_page() -> None:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        drugs = recipient("drugs", "DRUG_ALCOHOL", ("ACTION_ASSIGNED", "ACTION_OVERDUE"))
        drugs = type(drugs)(**{**drugs.__dict__, "email": "iom@inclusion.example",
                               "agency": "Inclusion Hampshire"})
        mailer = Mailer("127.0.0.1", port, "throughcare@test.example")
        await mailer(drugs, note("ACTION_OVERDUE"))
        await mailer(drugs, note("SASH"))  # health information is never mailed
    finally:
        controller.stop()
    [(to, message)] = inbox.messages
    assert to == ["iom@inclusion.example"]
    assert message["Subject"] == "Throughcare: new action overdue"
    text = message.get_payload()
    assert "/agencies/Inclusion%20Hampshire/actions" in text and "P-secret" not in text
