"""Answers several handlers write: the login answer, the token pair and the user object, each built in one place.

Their shapes are the seed's contract: every field a seed client reads keeps its name, type and meaning.
"""

from __future__ import annotations

from typing import Any

from services.context import TokenPair
from services.users import User


def token_pair(tokens: TokenPair) -> dict[str, str]:
    """`{"access_token", "refresh_token"}`: the pair a login, a password change or a social sign-in hands out."""
    return {"access_token": tokens.access.token, "refresh_token": tokens.refresh.token}


def login_answer(user: User, tokens: TokenPair) -> dict[str, Any]:
    """The seed's login answer: the user with its `tokens`; social, passwordless and passkey sign-ins answer the
    same.

    An anonymous account's says so (`is_anonymous: true`); a user with a second factor whose tokens are aal1 is
    told so (`mfa_required`, and the factors to verify with POST /mfa/challenge); everyone else's answer is the
    seed's, byte for byte."""
    answer = {
        "created_at": user.created_at,
        "email": user.email,
        "email_verified": user.email_verified,
        **_anonymous(user),
        "name": user.name,
        "status": "success",
        "tokens": token_pair(tokens),
        "uid": user.uid,
        "updated_at": user.updated_at,
    }
    if user.has_second_factor and tokens.assurance.aal == "aal1":
        answer["mfa_required"] = True
        answer["factors"] = [factor.public() for factor in user.factors]
    return answer


def refresh_answer(tokens: TokenPair) -> dict[str, Any]:
    """The seed's refresh answer (`access_token`, `exp`), plus the rotated `refresh_token` clients should store."""
    return {"access_token": tokens.access.token, "exp": tokens.access.expires_at,
            "refresh_token": tokens.refresh.token, "status": "success"}


def user_answer(user: User, picture_url: str | None) -> dict[str, Any]:
    """`GET /user`. The seed shows the timestamps as strings here; kept so seed clients parse them unchanged.
    `app_metadata`, `user_metadata`, `phone` and `is_anonymous` appear only on users that have them: a seed
    client's answer stays byte for byte."""
    metadata = {name: value for name, value in (("app_metadata", user.app_metadata),
                                                ("user_metadata", user.user_metadata)) if value}
    return {
        **metadata,
        "created_at": str(user.created_at),
        "email": user.email,
        "email_verified": user.email_verified,
        **_anonymous(user),
        "name": user.name,
        **({"phone": user.phone} if user.phone else {}),
        "picture": picture_url,
        "status": "success",
        "uid": user.uid,
        "updated_at": str(user.updated_at),
    }


def _anonymous(user: User) -> dict[str, bool]:
    return {"is_anonymous": True} if user.is_anonymous else {}
