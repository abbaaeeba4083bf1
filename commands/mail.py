"""`mail dead-letters`: the mails that kept failing, newest first, with why (one JSON object per line)."""

from __future__ import annotations

import argparse
import json

from commands.common import fail, redis_url, with_services
from services.config import Config
from services.wiring import Services


async def run(config: Config, args: argparse.Namespace) -> int:
    url = redis_url(config)
    if url is None:
        return fail("no REDIS_URL is set and no embedded server is running: no outbox to read")

    async def show(services: Services) -> int:
        for entry in await services.mail.outbox.dead_letters(args.count):
            print(json.dumps(entry, sort_keys=True))
        return 0

    return await with_services(config, url, show)
