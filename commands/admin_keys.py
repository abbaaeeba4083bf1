"""`admin-keys create --name NAME --scopes a,b | list | revoke NAME`: the keys of the admin API, in the Redis the
servers use (the embedded one works too, while a server runs)."""

from __future__ import annotations

import argparse
import sys
import time

from commands.common import fail, redis_url, with_services
from services.admin import SCOPES, AdminKeyError
from services.config import Config
from services.wiring import Services


async def run(config: Config, args: argparse.Namespace) -> int:
    url = redis_url(config)
    if url is None:
        return fail("no REDIS_URL is set and no embedded server is running: start the server first, or set "
                    "REDIS_URL")
    return await with_services(config, url, lambda services: run_admin_keys_command(services, args))


async def run_admin_keys_command(services: Services, args: argparse.Namespace) -> int:
    keys = services.admin.keys
    if args.admin_keys_command == "create":
        scopes = tuple(scope.strip() for scope in args.scopes.split(",") if scope.strip())
        try:
            key, record = await keys.create(args.name, scopes)
        except AdminKeyError as exc:
            return fail(str(exc))
        print(key)
        print(f"admin key {record.name} ({', '.join(record.scopes)}): shown this once, only its hash is kept; "
              "send it as Authorization: Bearer <key>", file=sys.stderr)
    elif args.admin_keys_command == "revoke":
        if not await keys.revoke(args.name):
            return fail(f"no admin key named {args.name}")
        print(f"admin key {args.name} is revoked: its next request is refused")
    else:
        listed = await keys.list()
        for record in listed:
            print(f"{record.name}\t{','.join(record.scopes)}\tcreated {_when(record.created_at)}\t"
                  f"last used {_when(record.last_used_at) if record.last_used_at else 'never'}")
        if not listed:
            print("no admin keys: python server.py admin-keys create --name NAME --scopes "
                  + ",".join(SCOPES), file=sys.stderr)
    return 0


def _when(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
