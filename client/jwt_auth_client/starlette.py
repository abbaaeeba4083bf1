"""Starlette and FastAPI: a dependency that answers the verified token, and the handler of its refusals.

    guard = AsyncGuard(verifier, revocation=AsyncRedisRevocation.from_url("redis://..."))
    app = FastAPI()
    install(app)                                   # refusals as the auth server's JSON errors

    @app.get("/profile")
    async def profile(token: VerifiedToken = Depends(TokenAuth(guard))):
        return {"uid": token.subject}

    @app.get("/admin", dependencies=[Depends(TokenAuth(guard, require_role("admin")))])
    async def admin(): ...

In plain Starlette, `token = await TokenAuth(guard)(request)` inside the endpoint. Without `install`, a refusal
still gets its status and headers (it is an HTTPException), with FastAPI's `{"detail": {...}}` body.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from jwt_auth_client.errors import AuthError
from jwt_auth_client.guard import AsyncGuard
from jwt_auth_client.requirements import Requirement
from jwt_auth_client.token import VerifiedToken


class TokenRefused(HTTPException):
    def __init__(self, error: AuthError) -> None:
        super().__init__(error.status, detail=error.body(), headers={**error.headers(), "Cache-Control": "no-store"})
        self.error = error


class TokenAuth:
    def __init__(self, guard: AsyncGuard, *requirements: Requirement) -> None:
        self._guard = guard
        self._requirements = requirements

    async def __call__(self, request: Request) -> VerifiedToken:
        try:
            return await self._guard.authenticate(request.headers, self._requirements)
        except AuthError as error:
            raise TokenRefused(error) from None


async def refusal_response(request: Request, exc: Exception) -> JSONResponse:
    refused: Any = exc
    return JSONResponse(refused.error.body(), status_code=refused.status_code, headers=refused.headers)


def install(app: Any) -> None:
    """Answer refusals with `{status, code, message}`, as the auth server does."""
    app.add_exception_handler(TokenRefused, refusal_response)
