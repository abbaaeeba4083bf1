"""Entry point: `python server.py [serve [--port N]]` runs the API; the other commands administer it (commands/)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from commands import admin_keys, keys, mail, sessions, users, webhooks
from runtime.serving import serve_process, serve_processes
from services.admin import SCOPES
from services.config import SIGNING_ALGORITHMS, ConfigError, load_config
from services.operations import configure_logging

# Commands that run a coroutine against the servers' stores, by name; `keys` works on the key folder alone.
ASYNC_COMMANDS = {"sessions": sessions.run, "users": users.run, "mail": mail.run, "admin-keys": admin_keys.run,
                  "webhooks": webhooks.run}


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
        return keys.run(config, args)
    if args.command in ASYNC_COMMANDS:
        return asyncio.run(ASYNC_COMMANDS[args.command](config, args))
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="server.py", description="Python JWT Auth server")
    parser.add_argument("--config", default=os.environ.get("AUTH_CONFIG") or None,
                        help="path of the YAML config (default: config.yaml, or $AUTH_CONFIG)")
    commands = parser.add_subparsers(dest="command")
    serve_parser = commands.add_parser("serve", help="run the API server (the default)")
    serve_parser.add_argument("--port", type=int, help="port to listen on (overrides PORT)")
    serve_parser.add_argument("--processes", type=int, metavar="N",
                              help="serving processes, 0: one per CPU core (overrides PROCESSES; >1 needs MONGO_URL)")
    _keys_parser(commands)
    sessions_parser = commands.add_parser("sessions", help="end users' logins")
    session_commands = sessions_parser.add_subparsers(dest="sessions_command", required=True)
    revoke_all = session_commands.add_parser("revoke-all", help="end every login, of everyone or of one user")
    revoke_all.add_argument("--user", metavar="EMAIL", help="only this user's logins")
    _users_parser(commands)
    mail_parser = commands.add_parser("mail", help="look into the mail outbox")
    mail_commands = mail_parser.add_subparsers(dest="mail_command", required=True)
    dead = mail_commands.add_parser("dead-letters", help="mails set aside after failing for good, newest first")
    dead.add_argument("--count", type=int, default=100, help="at most this many (default 100)")
    _admin_keys_parser(commands)
    _webhooks_parser(commands)
    parser.set_defaults(command="serve")
    return parser


def _keys_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys_parser = commands.add_parser("keys", help="manage signing keys in JWT_KEYS")
    key_commands = keys_parser.add_subparsers(dest="keys_command", required=True)
    generate = key_commands.add_parser("generate", help="create a new key pair; the newest pair signs")
    generate.add_argument("--alg", choices=SIGNING_ALGORITHMS, help="default: JWT_ALGORITHM")
    key_commands.add_parser("list", help="list keys and which one signs")
    retire = key_commands.add_parser("retire", help="stop signing with a key, keep verifying its tokens")
    retire.add_argument("kid")


def _users_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users_parser = commands.add_parser("users", help="look after accounts (needs MONGO_URL)")
    user_commands = users_parser.add_subparsers(dest="users_command", required=True)
    user_commands.add_parser("list", help="every user: email, uid, state, creation time, name")
    for name, text in (("show", "everything stored about a user, as JSON (no password hash)"),
                       ("disable", "refuse the user's logins and end every session"),
                       ("enable", "let a disabled user log in again"),
                       ("delete", "delete the user, their picture and sessions, and tell them by mail"),
                       ("mfa-reset", "remove the user's second factors, passkeys and recovery codes; end their "
                                     "sessions")):
        user_commands.add_parser(name, help=text).add_argument("email", metavar="EMAIL")
    user_commands.add_parser("mfa-rewrap", help="seal every TOTP secret with the first MFA encryption key")
    purge = user_commands.add_parser("purge-anonymous", help="delete anonymous accounts never made full ones")
    purge.add_argument("--older-than", type=_duration, required=True, metavar="AGE",
                       help="made longer ago than this: 30d, 12h, 90m or seconds")
    importing = user_commands.add_parser("import", help="move users in: JSON lines with other systems' password "
                                         "hashes (docs/admin.md); idempotent by address")
    importing.add_argument("file", metavar="FILE", help="the JSON lines file, or - for standard input")


def _admin_keys_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin_parser = commands.add_parser("admin-keys", help="keys of the admin API (/admin/...)")
    admin_commands = admin_parser.add_subparsers(dest="admin_keys_command", required=True)
    create = admin_commands.add_parser("create", help="make a key and print it, once")
    create.add_argument("--name", required=True, help="what the audit log calls the key")
    create.add_argument("--scopes", required=True, help=f"comma-separated, of: {','.join(SCOPES)}")
    admin_commands.add_parser("list", help="every key: name, scopes, created, last used")
    admin_commands.add_parser("revoke", help="refuse the key from its next request on").add_argument("name")


def _webhooks_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    webhooks_parser = commands.add_parser("webhooks", help="look into the webhook queue")
    webhook_commands = webhooks_parser.add_subparsers(dest="webhooks_command", required=True)
    dead = webhook_commands.add_parser("dead-letters", help="deliveries set aside after failing for good")
    dead.add_argument("--count", type=int, default=100, help="at most this many (default 100)")
    webhook_commands.add_parser("replay", help="deliver a dead letter again").add_argument(
        "id", help="the dead letter's id or its event id (evt_...)")



def _duration(text: str) -> int:
    """`30d`, `12h`, `90m`, `45s` or plain seconds, as seconds."""
    units = {"d": 86_400, "h": 3600, "m": 60, "s": 1}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    if not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age like 30d, 12h, 90m or 3600")
    return int(number) * units[unit]

if __name__ == "__main__":
    sys.exit(main())
