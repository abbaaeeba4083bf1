"""Entry point: `python server.py [serve [--port N]]` runs the API; the other commands administer it."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from runtime.serving import serve_process, serve_processes
from services.config import SIGNING_ALGORITHMS, Config, ConfigError, load_config
from services.infra import (
    check_redis_mode,
    embedded_redis,
    is_mongo_down,
    mongo_database,
    mongo_hosts,
    redis_address,
    redis_client,
)
from services.mfa import SealedValueError
from services.operations import configure_logging
from services.outcomes import AuthError, ServiceUnavailable
from services.tokens import KeyFileError, KeyRing, keyfiles
from services.users import normalize_email
from services.wiring import Services, build_services

log = logging.getLogger("auth.server")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        overrides = {name: getattr(args, name, None) for name in ("port", "processes")}
        config = load_config(_config_path(args.config),
                             **{name: value for name, value in overrides.items() if value is not None})
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    # With several processes, each line says whose it is.
    configure_logging(config.log_level, config.log_format, with_pid=config.processes != 1)
    if args.command == "keys":
        return _keys_command(config, args)
    if args.command == "sessions":
        return asyncio.run(_sessions_command(config, args))
    if args.command == "users":
        return asyncio.run(_users_command(config, args))
    if args.command == "mail":
        return asyncio.run(_mail_command(config, args))
    processes = config.processes or os.cpu_count() or 1
    if processes == 1:
        return serve_process(config)
    return serve_processes(config, processes)


def _config_path(named: str | None) -> str:
    """`config.yaml` may be absent (defaults apply); a file the operator named must exist, or a typo runs defaults."""
    if named and not Path(named).is_file():
        problem = "is not a file" if Path(named).exists() else "does not exist"
        raise ConfigError(f"config file {named} {problem} (from --config or AUTH_CONFIG)")
    return named or "config.yaml"


def _keys_command(config: Config, args: argparse.Namespace) -> int:
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


def _redis_url(config: Config) -> str | None:
    """The Redis the servers use: REDIS_URL, or the embedded server's socket while it runs (None: neither)."""
    if not config.embedded_redis:
        return config.redis_url
    embedded = embedded_redis(config)
    return embedded.url if embedded.socket_path.exists() else None


async def _sessions_command(config: Config, args: argparse.Namespace) -> int:
    """`sessions revoke-all [--user EMAIL]`: end logins through the same Redis and MongoDB the servers use."""
    url = _redis_url(config)
    if url is None:
        print("error: no REDIS_URL is set and no embedded server is running: nothing to revoke", file=sys.stderr)
        return 1
    if args.user and config.embedded_mongo:
        print("error: --user needs MONGO_URL: embedded users live inside the server process; "
              "revoke-all without --user works on the embedded default", file=sys.stderr)
        return 1
    services = build_services(config, mongo_database(config), redis_client(url, config.redis_timeout_seconds))
    try:
        await check_redis_mode(services.redis)  # a plain client would SCAN one cluster node only
        if args.user:
            user = await services.users.find_by_email(normalize_email(args.user))
            if user is None:
                print(f"error: no user {args.user}", file=sys.stderr)
                return 1
            await services.sessions.manager.end_all(user.uid)
            print(f"every login of {user.email} has ended")
        else:
            ended = await services.sessions.manager.end_everyones()
            print(f"{ended} session(s) ended: every user must log in again")
    except ServiceUnavailable as exc:
        print(f"error: {unreachable(config, url, exc)}", file=sys.stderr)
        return 1
    except AuthError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    finally:
        await services.redis.aclose()
        await services.database.client.close()
    return 0


async def _users_command(config: Config, args: argparse.Namespace) -> int:
    """`users list|show|disable|enable|delete`: the same MongoDB, Redis and picture store as the servers."""
    if config.embedded_mongo:
        print("error: `users` commands need MONGO_URL: without it the users live in memory inside the server "
              "process, out of this command's reach", file=sys.stderr)
        return 1
    url = _redis_url(config)
    if url is None:
        print("error: `users` commands need REDIS_URL (or a running server with the embedded Redis)", file=sys.stderr)
        return 1
    services = build_services(config, mongo_database(config), redis_client(url, config.redis_timeout_seconds))
    try:
        return await run_users_command(services, args.users_command, getattr(args, "email", None), redis_url=url)
    finally:
        await services.pictures.storage.close()
        await services.redis.aclose()
        await services.database.client.close()


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
            print(f"error: no user {email}", file=sys.stderr)
            return 1
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
        print(f"error: {unreachable(services.config, redis_url or services.config.redis_url, exc)}", file=sys.stderr)
        return 1
    except AuthError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except SealedValueError as exc:  # mfa-rewrap: a secret sealed under a key that is not in the ring any more
        print(f"error: {exc}; put that key back in MFA_ENCRYPTION_KEYS (or the key file) and run again",
              file=sys.stderr)
        return 1
    return 0


async def _mail_command(config: Config, args: argparse.Namespace) -> int:
    """`mail dead-letters`: the mails that kept failing, newest first, with why (one JSON object per line)."""
    url = _redis_url(config)
    if url is None:
        print("error: no REDIS_URL is set and no embedded server is running: no outbox to read", file=sys.stderr)
        return 1
    services = build_services(config, mongo_database(config), redis_client(url, config.redis_timeout_seconds))
    try:
        for entry in await services.mail.outbox.dead_letters(args.count):
            print(json.dumps(entry, sort_keys=True))
    except ServiceUnavailable as exc:
        print(f"error: {unreachable(config, url, exc)}", file=sys.stderr)
        return 1
    except AuthError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await services.redis.aclose()
        await services.database.client.close()
    return 0


def unreachable(config: Config, redis_url: str | None, exc: ServiceUnavailable) -> str:
    """Which server a command could not reach, where it is (never its credentials), and what the driver saw."""
    cause = exc.__cause__
    if cause is not None and is_mongo_down(cause):
        seen = str(cause).split(" (configured timeouts", 1)[0]
        return (f"MongoDB at {mongo_hosts(config.mongo_url)} (MONGO_URL) did not answer within "
                f"{config.mongo_timeout_seconds:g} s (MONGO_TIMEOUT_SECONDS): {seen}")
    where = redis_address(redis_url or "") or "the embedded Redis"
    return (f"Redis at {where} (REDIS_URL) did not answer within {config.redis_timeout_seconds:g} s "
            f"(REDIS_TIMEOUT_SECONDS): {cause or exc.message}")


def _print_keys(config: Config, folder: Path) -> None:
    ring = KeyRing(folder, signing_kid=config.jwt_signing_kid)
    asyncio.run(ring.reload())
    signing = ring.signing_key.kid if ring.signing_key else None
    for kid, key in sorted(ring.keys.items()):
        state = "signing" if kid == signing else "active" if key.can_sign else "verify-only"
        print(f"{kid}  {key.alg:6}  {state}")
    if not ring.keys:
        print(f"no keys in {folder}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="server.py", description="Python JWT Auth server")
    parser.add_argument("--config", default=os.environ.get("AUTH_CONFIG") or None,
                        help="path of the YAML config (default: config.yaml, or $AUTH_CONFIG)")
    commands = parser.add_subparsers(dest="command")
    serve_parser = commands.add_parser("serve", help="run the API server (the default)")
    serve_parser.add_argument("--port", type=int, help="port to listen on (overrides PORT)")
    serve_parser.add_argument("--processes", type=int, metavar="N",
                              help="serving processes, 0: one per CPU core (overrides PROCESSES; >1 needs MONGO_URL)")
    keys = commands.add_parser("keys", help="manage signing keys in JWT_KEYS")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    generate = key_commands.add_parser("generate", help="create a new key pair; the newest pair signs")
    generate.add_argument("--alg", choices=SIGNING_ALGORITHMS, help="default: JWT_ALGORITHM")
    key_commands.add_parser("list", help="list keys and which one signs")
    retire = key_commands.add_parser("retire", help="stop signing with a key, keep verifying its tokens")
    retire.add_argument("kid")
    sessions = commands.add_parser("sessions", help="end users' logins")
    session_commands = sessions.add_subparsers(dest="sessions_command", required=True)
    revoke_all = session_commands.add_parser("revoke-all", help="end every login, of everyone or of one user")
    revoke_all.add_argument("--user", metavar="EMAIL", help="only this user's logins")
    users = commands.add_parser("users", help="look after accounts (needs MONGO_URL)")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    user_commands.add_parser("list", help="every user: email, uid, state, creation time, name")
    user_commands.add_parser("mfa-rewrap", help="seal every TOTP secret with the first MFA encryption key")
    for name, text in (("show", "everything stored about a user, as JSON (no password hash)"),
                       ("disable", "refuse the user's logins and end every session"),
                       ("enable", "let a disabled user log in again"),
                       ("delete", "delete the user, their picture and sessions, and tell them by mail"),
                       ("mfa-reset", "remove the user's second factors, passkeys and recovery codes; end their "
                                     "sessions")):
        user_commands.add_parser(name, help=text).add_argument("email", metavar="EMAIL")
    mail = commands.add_parser("mail", help="look into the mail outbox")
    mail_commands = mail.add_subparsers(dest="mail_command", required=True)
    dead = mail_commands.add_parser("dead-letters", help="mails set aside after failing for good, newest first")
    dead.add_argument("--count", type=int, default=100, help="at most this many (default 100)")
    parser.set_defaults(command="serve")
    return parser


if __name__ == "__main__":
    sys.exit(main())
