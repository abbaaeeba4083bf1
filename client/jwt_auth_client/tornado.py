"""Tornado: a decorator for handler methods, or a mixin that guards every method of a handler.

    guard = AsyncGuard(verifier, revocation=AsyncRedisRevocation.from_url("redis://..."))

    class Profile(tornado.web.RequestHandler):
        @authenticated(guard)
        async def get(self):
            self.write({"uid": self.token.subject})

    class Admin(TokenRequired, tornado.web.RequestHandler):
        guard = guard
        requirements = (require_role("admin"),)

A refusal is the auth server's JSON error with its status and headers; the method is not called.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import tornado.web

from jwt_auth_client.errors import AuthError
from jwt_auth_client.guard import AsyncGuard
from jwt_auth_client.requirements import Requirement
from jwt_auth_client.token import VerifiedToken

Handler = TypeVar("Handler", bound=tornado.web.RequestHandler)
Method = Callable[..., Awaitable[Any]]


def refuse(handler: tornado.web.RequestHandler, error: AuthError) -> None:
    handler.clear()
    handler.set_status(error.status)
    for name, value in error.headers().items():
        handler.set_header(name, value)
    handler.set_header("Content-Type", "application/json; charset=utf-8")
    handler.set_header("Cache-Control", "no-store")
    handler.finish(json.dumps(error.body(), separators=(",", ":")))


def authenticated(guard: AsyncGuard, *requirements: Requirement) -> Callable[[Method], Method]:
    """Guard one handler method; the verified token is `self.token` inside it."""

    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        async def guarded(self: tornado.web.RequestHandler, *args: Any, **kwargs: Any) -> Any:
            try:
                self.token = await guard.authenticate(self.request.headers, requirements)  # type: ignore[attr-defined]
            except AuthError as error:
                return refuse(self, error)
            return await method(self, *args, **kwargs)

        return guarded

    return decorate


class TokenRequired:
    """Mix in before RequestHandler: every method needs a live token (`self.token`), checked in `prepare`."""

    guard: ClassVar[AsyncGuard]
    requirements: ClassVar[tuple[Requirement, ...]] = ()
    token: VerifiedToken

    async def prepare(self) -> None:
        handler: Any = self
        try:
            self.token = await self.guard.authenticate(handler.request.headers, self.requirements)
        except AuthError as error:
            refuse(handler, error)  # finishing in prepare: Tornado calls no method
            return
        parent = getattr(super(), "prepare", None)
        if parent is not None:
            result = parent()
            if result is not None:
                await result
