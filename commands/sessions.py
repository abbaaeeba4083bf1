"""`sessions revoke-all [--user EMAIL]`: end logins through the same Redis and MongoDB the servers use."""

from __future__ import annotations

import argparse

from commands.common import fail, redis_url, with_services
from services.config import Config
from services.infra import check_redis_mode
from services.users import normalize_email
from services.wiring import Services


async def run(config: Config, args: argparse.Namespace) -> int:
    url = redis_url(config)
    if url is None:
        return fail("no REDIS_URL is set and no embedded server is running: nothing to revoke")
    if args.user and config.embedded_mongo:
        return fail("--user needs MONGO_URL: embedded users live inside the server process; "
                    "revoke-all without --user works on the embedded default")

    async def revoke(services: Services) -> int:
        await check_redis_mode(services.redis)  # a plain client would SCAN one cluster node only
        if args.user:
            user = await services.users.find_by_email(normalize_email(args.user))
            if user is None:
                return fail(f"no user {args.user}")
            await services.sessions.manager.end_all(user.uid)
            print(f"every login of {user.email} has ended")
        else:
            ended = await services.sessions.manager.end_everyones()
            print(f"{ended} session(s) ended: every user must log in again")
        return 0

    return await with_services(config, url, revoke)
