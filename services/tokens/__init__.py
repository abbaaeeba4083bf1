"""Tokens and keys: the signing keys on disk and in memory, our JWTs (RFC 8725), and the single-use link tokens
that mails carry."""

from services.tokens.keyfiles import KeyFileError, LoadedKey
from services.tokens.keyring import KeyRing, KeyRingListener
from services.tokens.links import ActionLinks, ActionTokenStore, LinkState, Purpose
from services.tokens.service import Claims, IssuedToken, NoSigningKey, TokenService, TokenType

__all__ = ["ActionLinks", "ActionTokenStore", "Claims", "IssuedToken", "KeyFileError", "KeyRing", "KeyRingListener",
           "LinkState", "LoadedKey", "NoSigningKey", "Purpose", "TokenService", "TokenType"]
