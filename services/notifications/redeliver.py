"""Redeliver a recipient's FAILED notifications once its endpoint is fixed:

    python -m services.notifications.redeliver --recipient hampshire-police-iom

The command goes on the service's command topic; a worker queues every notification of that
recipient whose latest state is FAILED, oldest first, behind anything already queued.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

import orjson

from iomkit import kafka
from iomkit.settings import Settings, load
from services.notifications.internal import COMMANDS


async def send(settings: Settings, recipient: str, actor: str) -> None:
    await kafka.create_topics(settings, [COMMANDS])
    producer = kafka.producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(COMMANDS.name, orjson.dumps(
            {"command": "redeliver", "recipient": recipient, "actor": actor}),
            key=recipient.encode())
    finally:
        await producer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.notifications.redeliver",
                                     description=__doc__)
    parser.add_argument("--recipient", required=True, help="a name from the subscriptions")
    args = parser.parse_args(argv)
    asyncio.run(send(load(), args.recipient, getpass.getuser()))
    sys.stdout.write(f"redelivery of {args.recipient}'s failed notifications requested\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
