"""The tokens domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.config import Config
from services.operations import Observer
from services.tokens import ActionLinks, ActionTokenStore, KeyRing, TokenService
from services.users import UserStore


@dataclass(frozen=True)
class Tokens:
    keyring: KeyRing
    jwts: TokenService
    links: ActionLinks


def build_tokens(*, config: Config, redis: Any, users: UserStore, executor: Executor | None,
                 observer: Observer) -> Tokens:
    keyring = KeyRing(folder=Path(config.jwt_keys), signing_kid=config.jwt_signing_kid, executor=executor,
                      observer=observer)
    jwts = TokenService(keyring=keyring, issuer=config.jwt_issuer, audience=config.jwt_audience,
                        access_lifetime=config.jwt_access_token_lifetime,
                        refresh_lifetime=config.jwt_refresh_token_lifetime, leeway=config.jwt_leeway)
    links = ActionLinks(store=ActionTokenStore(redis=redis), users=users,
                        lifetimes={"verify": config.email_verification_lifetime,
                                   "reset": config.password_reset_lifetime,
                                   "email-new": config.email_change_lifetime,
                                   "email-current": config.email_change_lifetime,
                                   "email-cancel": config.email_change_lifetime})
    return Tokens(keyring=keyring, jwts=jwts, links=links)
