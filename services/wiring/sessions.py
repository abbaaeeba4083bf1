"""The sessions domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.config import Config
from services.infra import StateReads, state_reads
from services.operations import AuditLog, Observer
from services.sessions import (
    AccessTokens,
    Authenticator,
    ClaimsHook,
    MfaEnforcement,
    RefreshRotation,
    ReuseMode,
    SessionPolicy,
    SessionService,
    SessionStore,
    TokenEpochs,
)
from services.users import UserStore
from services.wiring.tokens import Tokens


@dataclass(frozen=True)
class Sessions:
    store: SessionStore
    epochs: TokenEpochs
    authenticator: Authenticator
    refresh: RefreshRotation
    manager: SessionService
    enforcement: MfaEnforcement  # MFA_ENFORCEMENT: what an aal1 token of a user with a second factor reaches
    reads: StateReads  # the per-request MGET's connection: closed with the Redis client (stop_services)


def build_sessions(*, config: Config, redis: Any, users: UserStore, tokens: Tokens, audit: AuditLog,
                   observer: Observer, claims_hook: ClaimsHook | None = None) -> Sessions:
    """`claims_hook`: the custom_access_token hook, consulted for every access token (services/hooks/)."""
    policy = SessionPolicy(refresh_lifetime=config.jwt_refresh_token_lifetime,
                           idle_timeout=config.session_idle_timeout, max_lifetime=config.session_max_lifetime,
                           max_per_user=config.session_max_per_user, reuse=ReuseMode(config.refresh_token_reuse),
                           reuse_interval=config.refresh_token_reuse_interval)
    # The per-request MGETs batched per event-loop turn on a connection of their own: ≈ 10x less CPU per MGET than
    # through the client (bench/redis_calls.py, bench/README.md "Redis calls").
    reads = state_reads(redis, config.redis_timeout_seconds)
    store = SessionStore(redis=redis, policy=policy, reads=reads)
    # An idle user's epoch is refilled from MongoDB: the cache need not outlive a refresh token.
    epochs = TokenEpochs(redis=redis, ttl_seconds=config.jwt_refresh_token_lifetime)
    authenticator = Authenticator(tokens=tokens.jwts, users=users, store=store, epochs=epochs)
    access = AccessTokens(tokens=tokens.jwts, hook=claims_hook)
    return Sessions(
        store=store, epochs=epochs, authenticator=authenticator, reads=reads,
        refresh=RefreshRotation(authenticator=authenticator, store=store, tokens=tokens.jwts, audit=audit,
                                observer=observer, access=access),
        manager=SessionService(users=users, store=store, epochs=epochs, tokens=tokens.jwts, audit=audit,
                               access=access),
        enforcement=MfaEnforcement(config.mfa_enforcement),
    )
