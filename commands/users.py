"""The `users` commands (list, show, disable, enable, delete, mfa-reset, mfa-rewrap, import, purge-anonymous):
the same MongoDB, Redis and picture store as the servers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from commands.common import fail, redis_url, unreachable, with_services
from services.config import Config
from services.mfa import SealedValueError
from services.outcomes import AuthError, ServiceUnavailable
from services.wiring import Services


async def run(config: Config, args: argparse.Namespace) -> int:
    if config.embedded_mongo:
        return fail("`users` commands need MONGO_URL: without it the users live in memory inside the server "
                    "process, out of this command's reach")
    url = redis_url(config)
    if url is None:
        return fail("`users` commands need REDIS_URL (or a running server with the embedded Redis)")
    if args.users_command == "import":
        return await with_services(config, url, lambda services: run_users_import(services, Path(args.file)))
    if args.users_command == "purge-anonymous":
        return await with_services(config, url, lambda services: run_purge_anonymous(services, args.older_than))
    return await with_services(config, url, lambda services: run_users_command(
        services, args.users_command, getattr(args, "email", None), redis_url=url))


async def run_users_command(services: Services, command: str, email: str | None, redis_url: str | None = None) -> int:
    """One `users` command against built services; prints its result and returns the exit code."""
    lifecycle = services.accounts.lifecycle
    try:
        if command == "list":
            async for user in lifecycle.each_user():
                state = "disabled" if user.disabled else "active"
                print(f"{user.email}\t{user.uid}\t{state}\tcreated {user.created_at}\t{user.name}")
            return 0
        if command == "mfa-rewrap":
            resealed, total, kid = await services.mfa.factors.rewrap()
            print(f"{resealed} of {total} TOTP secret(s) sealed again with key {kid}")
            return 0
        user = await lifecycle.find(email or "")
        if user is None:
            return fail(f"no user {email}")
        if command == "show":
            print(json.dumps(await lifecycle.export(user), indent=2, sort_keys=True))
        elif command == "disable":
            await lifecycle.disable(user)
            print(f"{user.email} is disabled: it cannot log in, and every login it had has ended")
        elif command == "enable":
            await lifecycle.enable(user)
            print(f"{user.email} is enabled: it can log in again")
        elif command == "delete":
            await lifecycle.delete(user)
            print(f"{user.email} is deleted, with its picture and sessions")
        elif command == "mfa-reset":
            removed = await services.mfa.factors.reset(user)
            print(f"{user.email} has no second factor now ({removed} removed, with its recovery codes), and every "
                  "login it had has ended")
    except ServiceUnavailable as exc:
        return fail(unreachable(services.config, redis_url or services.config.redis_url, exc))
    except SealedValueError as exc:  # mfa-rewrap: a secret sealed under a key that is not in the ring any more
        return fail(f"{exc}; put that key back in MFA_ENCRYPTION_KEYS (or the key file) and run again")
    except AuthError as exc:
        return fail(exc.message)
    return 0


async def run_users_import(services: Services, path: Path) -> int:
    """`users import FILE`: JSON lines (`-`: standard input); the report as one JSON object per line that was not
    imported, then a summary. Exit 1 when a line was refused."""
    try:
        handle = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot read {path}: {exc.strerror or exc}")
    with handle:
        try:
            report = await services.admin.imports.run(handle, by="command line")
        except UnicodeDecodeError:
            return fail(f"{path} is not UTF-8 text")
    for line in report.lines:
        if line["outcome"] != "imported":
            print(json.dumps(line, sort_keys=True))
    print(f"{report.imported} imported, {report.skipped} skipped (address taken), {report.refused} refused")
    return 1 if report.refused else 0


async def run_purge_anonymous(services: Services, older_than: int) -> int:
    """`users purge-anonymous --older-than AGE`: anonymous accounts made longer ago and never made full ones."""
    try:
        purged = await services.passwordless.anonymous.purge(older_than)
    except ServiceUnavailable as exc:
        return fail(unreachable(services.config, services.config.redis_url, exc))
    print(f"{purged} anonymous account(s) made more than {older_than} s ago and never upgraded: deleted")
    return 0
