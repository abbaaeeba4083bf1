"""Tokens and keys: the signing keys on disk and in memory, our JWTs (RFC 8725), and the single-use link tokens
that mails carry."""

from services.tokens.assurance import (
    FEDERATED,
    HARDWARE_KEY,
    LEVELS,
    MULTIPLE_FACTORS,
    ONE_TIME_CODE,
    PASSWORD,
    SOFTWARE_KEY,
    USER_PRESENCE,
    Assurance,
    Level,
)
from services.tokens.keyfiles import KeyFileError, LoadedKey
from services.tokens.keyring import KeyRing, KeyRingListener
from services.tokens.links import EMAIL_CHANGE_CONFIRMATIONS, ActionLinks, ActionTokenStore, LinkState, Purpose
from services.tokens.service import RESERVED_CLAIMS, Claims, IssuedToken, NoSigningKey, TokenService, TokenType

__all__ = [
    "EMAIL_CHANGE_CONFIRMATIONS",
    "FEDERATED",
    "HARDWARE_KEY",
    "LEVELS",
    "MULTIPLE_FACTORS",
    "ONE_TIME_CODE",
    "PASSWORD",
    "RESERVED_CLAIMS",
    "SOFTWARE_KEY",
    "USER_PRESENCE",
    "ActionLinks",
    "ActionTokenStore",
    "Assurance",
    "Claims",
    "IssuedToken",
    "KeyFileError",
    "KeyRing",
    "KeyRingListener",
    "Level",
    "LinkState",
    "LoadedKey",
    "NoSigningKey",
    "Purpose",
    "TokenService",
    "TokenType",
]
