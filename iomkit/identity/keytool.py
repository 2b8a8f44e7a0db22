"""Rotate and retire the sign-in service's signing keys.

    python -m iomkit.identity.keytool [--dir DIR] list|rotate|retire KID

After a rotation, restart the sign-in service (it signs with the newest key); retire the
old key once its tokens have expired (IOM_TOKEN_TTL_S).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from iomkit.identity import keys
from iomkit.settings import get


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iomkit.identity.keytool")
    parser.add_argument("--dir", type=Path, default=None, help="default: IOM_IDENTITY_DIR")
    parser.add_argument("command", choices=("list", "rotate", "retire"))
    parser.add_argument("kid", nargs="?")
    args = parser.parse_args(argv)
    directory = args.dir or get().identity_dir
    if args.command == "rotate":
        newest = keys.rotate(directory).kid
        sys.stdout.write(f"signing with {newest}; restart the sign-in service\n")
    elif args.command == "retire":
        if not args.kid:
            parser.error("retire needs the key id")
        keys.retire(directory, args.kid)
    for key in keys._private_keys(directory):
        sys.stdout.write(f"{key.kid}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
