"""Every write of a user changes the user's version in Redis (services/users/versions.py), so no process serves
its copy of that user afterwards (issue 14): names, the disabled flag, addresses, passwords, pictures, deletion."""

from __future__ import annotations

import inspect
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from services.users import PendingEmailChange, User, UserStore
from services.wiring import Services

Write = Callable[[UserStore, User], Awaitable[Any]]


def _change(user: User) -> PendingEmailChange:
    now = int(time.time())
    return PendingEmailChange(id=f"c-{user.uid}", email=f"new-{user.uid}@quazi.co", requested_at=now,
                              expires_at=now + 600, current_must_confirm=False)


async def _confirmed(store: UserStore, user: User) -> Any:
    await store.start_email_change(user.uid, user.token_epoch, _change(user))
    return await store.confirm_email_change(user.uid, _change(user).id, "new")


async def _completed(store: UserStore, user: User) -> Any:
    await store.start_email_change(user.uid, user.token_epoch, _change(user))
    return await store.complete_email_change(user.uid, _change(user))


async def _dropped(store: UserStore, user: User) -> Any:
    await store.start_email_change(user.uid, user.token_epoch, _change(user))
    return await store.drop_email_change(user.uid, _change(user).id)


WRITES: dict[str, Write] = {
    "name": lambda store, user: store.update(user.uid, {"name": "Omar Q"}),
    "disabled": lambda store, user: store.update(user.uid, {"disabled": True}),
    "email": lambda store, user: store.update(user.uid, {"email": f"other-{user.uid}@quazi.co"}),
    "password": lambda store, user: store.update(user.uid, {"password_hash": "new-hash"}, bump_epoch=True),
    "password rehash": lambda store, user: store.replace_password_hash(user.uid, user.password_hash, "rehashed"),
    "sign-up finished": lambda store, user: store.finish_signup(user.uid),
    "email change started": lambda store, user: store.start_email_change(user.uid, user.token_epoch, _change(user)),
    "email change confirmed": _confirmed,
    "email change completed": _completed,
    "email change dropped": _dropped,
    "picture": lambda store, user: store.swap_picture(user.uid, "pictures/new.webp"),
    "deletion": lambda store, user: store.delete(user.uid),
}


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.gen_test(timeout=30)
async def test_every_write_leaves_a_new_settled_version(services: Services, write: str) -> None:
    store = services.users
    user = await store.create(f"{uuid.uuid4().hex[:8]}@quazi.co", "Omar Quazi", "old-hash", signup_pending=True)
    before = await store.versions.establish(user.uid)
    assert before is not None
    await WRITES[write](store, user)
    after = await services.redis.get(store.versions.key(user.uid))
    assert after not in (None, before)
    assert store.versions.cacheable(after)  # settled, not left pending


def test_every_write_method_goes_through_the_version() -> None:
    """A write method added later without `_written` would let other processes serve an old copy: caught here."""
    writes = re.compile(r"self\._users\.(update_one|update_many|find_one_and_\w+|delete_\w+|replace_one)\(")
    exempt = {"_backfill_email_keys"}  # email_key is no part of User: no copy goes out of date
    for name, method in inspect.getmembers(UserStore, inspect.iscoroutinefunction):
        source = inspect.getsource(method)
        if name not in exempt and writes.search(source):
            assert "self._written(" in source, f"UserStore.{name} writes without changing the user's version"
