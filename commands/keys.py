"""`keys generate|list|retire`: the signing keys in JWT_KEYS."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from services.config import Config
from services.tokens import KeyFileError, KeyRing, keyfiles


def run(config: Config, args: argparse.Namespace) -> int:
    # The output is the answer (a kid, a table): the ring's "loaded" line belongs in a server's log. A file that
    # cannot be read still says so.
    logging.getLogger("auth.keys").setLevel(logging.WARNING)
    folder = Path(config.jwt_keys)
    try:
        if args.keys_command == "generate":
            kid = keyfiles.generate(folder, args.alg or config.jwt_algorithm)
            print(kid)
        elif args.keys_command == "retire":
            keyfiles.retire(folder, args.kid)
            print(f"retired {args.kid}: it no longer signs, and still verifies until {args.kid}.pub is deleted")
        else:
            _print_keys(config, folder)
    except KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_keys(config: Config, folder: Path) -> None:
    ring = KeyRing(folder, signing_kid=config.jwt_signing_kid)
    asyncio.run(ring.reload())
    signing = ring.signing_key.kid if ring.signing_key else None
    for kid, key in sorted(ring.keys.items()):
        state = "signing" if kid == signing else "active" if key.can_sign else "verify-only"
        print(f"{kid}  {key.alg:6}  {state}")
    if not ring.keys:
        print(f"no keys in {folder}", file=sys.stderr)
