"""E-mail, the courtesy copy: a recipient with an ``email`` also gets a short message once
its webhook has a notification. E-mail is not a secure channel, so the message carries no
personal data: the kind, the notification id and where to look (the console or the
recipient's own system, which received the full payload by signed webhook). Sent for the
pager kinds and for a partner's plan actions (a partner may have no case system of its own:
the message points at its actions page, where it signs in)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import quote

from iomkit.identity.isa import ACTION_KINDS
from services.notifications.outbox import DeliveryError, Notification
from services.notifications.subscriptions import LOOPBACK, Recipient


def message(recipient: Recipient, notification: Notification, sender: str) -> EmailMessage:
    kind = notification["kind"].replace("_", " ").lower()
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient.email or ""
    mail["Subject"] = f"Throughcare: new {kind}"
    mail["Message-ID"] = f"<{notification['notification_id']}@throughcare>"
    where = (f"your agency's actions page (/agencies/{quote(recipient.agency)}/actions)"
             if recipient.agency else "the Throughcare console")
    mail.set_content(
        f"A {kind} notification for {recipient.name} was delivered to your system.\n"
        f"Notification id: {notification['notification_id']}\n"
        f"Open {where} or your case system for the details.\n")
    return mail


MAILED = frozenset({"HIT", "HIT_WITHDRAWN", "ZONE_BREACH", *ACTION_KINDS})


class Mailer:
    def __init__(self, host: str, port: int, sender: str, timeout_s: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout_s = host, port, sender, timeout_s

    async def __call__(self, recipient: Recipient, notification: Notification) -> None:
        if not recipient.email or notification["kind"] not in MAILED:
            return  # the pager kinds, and a partner's plan actions
        await asyncio.to_thread(self._send, message(recipient, notification, self.sender))

    def _send(self, mail: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.host not in LOOPBACK:  # never in clear across a network
                    smtp.starttls(context=ssl.create_default_context())
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}") from None
