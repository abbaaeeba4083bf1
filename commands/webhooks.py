"""`webhooks dead-letters [--count N]` and `webhooks replay ID`: the deliveries that kept failing, and sending one
again (with its event's id, so the receiver can tell it from a new event)."""

from __future__ import annotations

import argparse
import json

from commands.common import fail, redis_url, with_services
from services.config import Config
from services.wiring import Services


async def run(config: Config, args: argparse.Namespace) -> int:
    url = redis_url(config)
    if url is None:
        return fail("no REDIS_URL is set and no embedded server is running: no webhook queue to read")
    return await with_services(config, url, lambda services: run_webhooks_command(services, args))


async def run_webhooks_command(services: Services, args: argparse.Namespace) -> int:
    outbox = services.webhooks.outbox
    if args.webhooks_command == "replay":
        entry = await outbox.replay(args.id)
        if entry is None:
            return fail(f"no dead letter {args.id} (its id or its event id, from `webhooks dead-letters`)")
        message = entry["message"]
        print(f"queued again: {message.get('type')} {message.get('event_id')} to {message.get('url')}")
        return 0
    for entry in await outbox.dead_letters(args.count):
        print(json.dumps(entry, sort_keys=True))
    return 0
