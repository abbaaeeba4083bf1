"""Flask: a decorator for views; the verified token is `flask.g.token` inside the view.

    guard = Guard(verifier, revocation=RedisRevocation.from_url("redis://..."))

    @app.get("/profile")
    @token_required(guard)
    def profile():
        return {"uid": g.token.subject}

A refusal is the auth server's JSON error with its status and headers; the view is not called.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, jsonify, request

from jwt_auth_client.errors import AuthError
from jwt_auth_client.guard import Guard
from jwt_auth_client.requirements import Requirement

View = Callable[..., Any]


def refusal(error: AuthError) -> Any:
    response = jsonify(error.body())
    response.status_code = error.status
    response.headers.update({**error.headers(), "Cache-Control": "no-store"})
    return response


def token_required(guard: Guard, *requirements: Requirement) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                g.token = guard.authenticate(request.headers, requirements)
            except AuthError as error:
                return refusal(error)
            return view(*args, **kwargs)

        return guarded

    return decorate
