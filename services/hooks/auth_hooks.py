"""The synchronous auth hooks: a call the server makes while it serves the request, and waits for.

- `before_signup` is the sign-up gate (services/users/admission.py): every new account, however it is made, is
  shown to it first; an answer `{"decision": "reject", "message": ...}` (or Supabase's `{"error": {"message"}}`)
  refuses it with 403 `auth/signup-rejected` and the hook's message.
- `custom_access_token` sees the claims of every access token about to be signed and answers
  `{"claims": {...}}`; those are merged in, but never over a claim of ours (RESERVED_CLAIMS: the registered
  claims, `sid`, the epoch, `data`, `aal`, `amr`) nor over `app_metadata`, which only admins set, nor over any
  claim already in the token it was shown (another feature's, made through `extra_claims`), so a feature that
  adds a claim never has to remember to protect it here. An answer over 4 KB or not JSON is a failure.

A failure (unreachable, slower than `timeout_seconds`, not 2xx, a bad answer) follows the hook's `on_failure`:
`reject` refuses the sign-up or the login with 503 `auth/hook-failed` (retry later), `allow` carries on as if no
hook were configured. Nothing the user typed as a password ever reaches a hook.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from services.config import HookConfig
from services.hooks.signed_http import HookFailure, SignedPoster
from services.outcomes import HOOK_FAILED, SIGNUP_REJECTED, AuthError
from services.sessions import APP_METADATA_CLAIM
from services.tokens import RESERVED_CLAIMS
from services.users import SignupCandidate, User

log = logging.getLogger("auth.hooks")
MAX_CLAIMS_BYTES = 4096
MAX_MESSAGE_LENGTH = 200
PROTECTED_CLAIMS = RESERVED_CLAIMS | {APP_METADATA_CLAIM}


def hook_payload(hook_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Standard Webhooks' payload shape: `{type, timestamp, data}`."""
    return {"type": hook_type, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "data": data}


class AuthHooks:
    """The `before_signup` gate and the `custom_access_token` claims, each a no-op while it is not configured."""

    def __init__(self, *, poster: SignedPoster, before_signup: HookConfig | None = None,
                 custom_access_token: HookConfig | None = None) -> None:
        self._poster = poster
        self._before_signup = before_signup
        self._custom_access_token = custom_access_token

    async def admit(self, candidate: SignupCandidate) -> None:
        hook = self._before_signup
        if hook is None:
            return
        try:
            answer = await self._call(hook, {"user": candidate.public()})
        except HookFailure as exc:
            self._failed(hook, exc)
            return
        refusal = _refusal(answer)
        if refusal is not None:
            log.info("before_signup hook rejected a %s sign-up", candidate.method)
            raise AuthError(SIGNUP_REJECTED, refusal or None)

    async def claims(self, user: User, claims: dict[str, Any]) -> dict[str, Any]:
        hook = self._custom_access_token
        if hook is None:
            return claims
        try:
            answer = await self._call(hook, {"user_id": user.uid, "claims": claims}, MAX_CLAIMS_BYTES)
            added = answer.get("claims", {}) if isinstance(answer, dict) else None
            if not isinstance(added, dict):
                raise HookFailure("the answer's claims are not a JSON object")
        except HookFailure as exc:
            self._failed(hook, exc)
            return claims
        protected = PROTECTED_CLAIMS | claims.keys()
        ignored = sorted(protected & added.keys())
        if ignored:
            log.warning("custom_access_token hook tried to set %s: kept ours", ", ".join(ignored))
        return {**claims, **{name: value for name, value in added.items() if name not in protected}}

    async def _call(self, hook: HookConfig, data: dict[str, Any], max_bytes: int | None = None) -> Any:
        limits = {"max_answer_bytes": max_bytes} if max_bytes else {}
        answer = await self._poster.post(hook.url, hook.secret, f"msg_{uuid.uuid4().hex}",
                                         hook_payload(hook.name, data), hook.timeout_seconds, **limits)
        return answer.json()

    @staticmethod
    def _failed(hook: HookConfig, exc: HookFailure) -> None:
        """`allow`: go on without the hook (said in the log); `reject`: 503, the client retries later."""
        if hook.on_failure == "allow":
            log.warning("%s hook failed (%s): going on without it (on_failure: allow)", hook.name, exc)
            return
        log.warning("%s hook failed (%s): refusing (on_failure: reject)", hook.name, exc)
        raise AuthError(HOOK_FAILED)


def _refusal(answer: Any) -> str | None:
    """The hook's reason when it rejects ("" without one), None when it lets the sign-up through."""
    if not isinstance(answer, dict):
        return None
    error = answer.get("error")
    if answer.get("decision") == "reject" or isinstance(error, dict):
        message = answer.get("message", error.get("message") if isinstance(error, dict) else None)
        return _printable(message) if isinstance(message, str) else ""
    return None


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:MAX_MESSAGE_LENGTH].strip()
