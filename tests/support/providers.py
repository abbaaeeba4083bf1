"""Identity providers for the tests, served over HTTP on loopback by one small Tornado app.

- `/oidc`: an OpenID Connect issuer with discovery, a JWKS it can rotate, an authorization endpoint
  that "signs the user in" at once, and a token endpoint that checks the PKCE verifier against the
  challenge (RFC 7636 §4.6) and signs ID tokens with its own keys;
- `/graph`: Facebook's `debug_token` and `/me`;
- `/github`: GitHub's "check a token" (with the app's basic auth), `/user` and `/user/emails`.

`delay` makes every answer slow and `down` makes every answer a 500, to test that we never hang; `jwks_down`
fails the JWKS alone. `requests` counts what each path was asked, answered or not.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
import tornado.web
from cryptography.hazmat.primitives.asymmetric import ec, rsa

CLIENT_ID = "our-client-id"
CLIENT_SECRET = "our-client-secret"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        return {**json.loads(algorithm.to_jwk(self.private.public_key())), "kid": self.kid, "alg": self.alg,
                "use": "sig"}


def rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class FakeProviders:
    base_url: str = ""
    keys: list[SigningKey] = field(default_factory=list)
    jwks_hits: int = 0
    delay: float = 0.0
    down: bool = False
    jwks_down: bool = False
    requests: Counter[str] = field(default_factory=Counter)
    # Who signs in at /oidc/authorize: the claims of the next ID token the token endpoint signs.
    next_user: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # With response_mode=form_post, the `user` field Apple posts on a first sign-in (JSON text), if any.
    form_user: str | None = None
    facebook_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    github_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The token endpoint's check of `client_secret` (default: equal to CLIENT_SECRET), and every form it got.
    secret_check: Callable[[str], bool] | None = None
    token_forms: list[dict[str, str]] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/oidc"

    def id_token(self, key: SigningKey | None = None, headers: dict[str, Any] | None = None,
                 **claims: Any) -> str:
        """An ID token from this issuer for our client; `claims` override or (with None) remove defaults."""
        key = key or self.keys[0]
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "subject-1", "iat": now, "exp": now + 300,
                   "email": "omar@quazi.co", "email_verified": True, "name": "Omar Quazi", **claims}
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key.private, algorithm=key.alg, headers={"kid": key.kid, **(headers or {})})


class _Handler(tornado.web.RequestHandler):
    def initialize(self, fake: FakeProviders) -> None:
        self.fake = fake

    async def prepare(self) -> None:
        self.fake.requests[self.request.path] += 1
        if self.fake.delay:
            await asyncio.sleep(self.fake.delay)
        if self.fake.down:
            raise tornado.web.HTTPError(500)

    def answer(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))


class Discovery(_Handler):
    def get(self) -> None:
        issuer = self.fake.issuer
        self.answer({"issuer": issuer, "authorization_endpoint": f"{issuer}/authorize",
                     "token_endpoint": f"{issuer}/token", "jwks_uri": f"{issuer}/jwks"})


class Jwks(_Handler):
    def get(self) -> None:
        if self.fake.jwks_down:
            raise tornado.web.HTTPError(503)
        self.fake.jwks_hits += 1
        self.answer({"keys": [key.jwk() for key in self.fake.keys]})


class Authorize(_Handler):
    """The user consents at once; the code remembers what the token endpoint must check.

    With `response_mode=form_post` (Apple) the answer stands for the auto-submitting HTML form the provider
    serves: `{"action": redirect_uri, "fields": {...}}`, which the test's browser then POSTs."""

    def get(self) -> None:
        args = {name: self.get_query_argument(name) for name in
                ("client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "nonce")}
        code = secrets.token_urlsafe(16)
        self.fake.codes[code] = args
        fields = {"code": code, "state": args["state"]}
        if self.get_query_argument("response_mode", "query") == "form_post":
            if self.fake.form_user is not None:
                fields["user"] = self.fake.form_user
            self.answer({"action": args["redirect_uri"], "fields": fields})
            return
        self.redirect(f"{args['redirect_uri']}?{urllib.parse.urlencode(fields)}")


class Token(_Handler):
    def post(self) -> None:
        form = {name: self.get_body_argument(name, "") for name in
                ("grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier")}
        self.fake.token_forms.append(form)
        secret_ok = (self.fake.secret_check(form["client_secret"]) if self.fake.secret_check
                     else form["client_secret"] == CLIENT_SECRET)
        grant = self.fake.codes.pop(form["code"], None)  # codes are single use
        digest = hashlib.sha256(form["code_verifier"].encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if (grant is None or form["grant_type"] != "authorization_code" or form["client_id"] != CLIENT_ID
                or not secret_ok or form["redirect_uri"] != grant["redirect_uri"]
                or grant["code_challenge_method"] != "S256" or challenge != grant["code_challenge"]):
            self.answer({"error": "invalid_grant"}, 400)
            return
        self.answer({"access_token": "opaque", "token_type": "Bearer",
                     "id_token": self.fake.id_token(nonce=grant["nonce"], **self.fake.next_user)})


class DebugToken(_Handler):
    def get(self) -> None:
        if self.get_query_argument("access_token") != f"{CLIENT_ID}|{CLIENT_SECRET}":
            self.answer({"error": {"message": "bad app token"}}, 400)
            return
        known = self.fake.facebook_tokens.get(self.get_query_argument("input_token"))
        if known is None:
            self.answer({"data": {"is_valid": False}})
            return
        self.answer({"data": {"is_valid": True, "app_id": known["app_id"], "user_id": known["id"]}})


class FacebookMe(_Handler):
    def get(self) -> None:
        known = self.fake.facebook_tokens.get(self.get_query_argument("access_token"))
        if known is None:
            self.answer({"error": {"message": "invalid token"}}, 401)
            return
        self.answer({key: known[key] for key in ("id", "name", "email") if key in known})


class GitHubTokenCheck(_Handler):
    def post(self, client_id: str) -> None:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        token = json.loads(self.request.body).get("access_token")
        known = self.fake.github_tokens.get(token)
        ours = self.request.headers.get("Authorization") == f"Basic {expected}" and client_id == CLIENT_ID
        if not ours or known is None or known.get("app") != CLIENT_ID:  # GitHub: 404 for tokens of other apps
            self.answer({"message": "Not Found"}, 404)
        else:
            self.answer({"token": token, "user": {"id": known["id"], "login": known["login"]}})


class GitHubUser(_Handler):
    def known(self) -> dict[str, Any] | None:
        token = self.request.headers.get("Authorization", "").removeprefix("Bearer ")
        return self.fake.github_tokens.get(token)

    def get(self) -> None:
        known = self.known()
        if known is None:
            self.answer({"message": "Bad credentials"}, 401)
        else:
            self.answer({"id": known["id"], "login": known["login"], "name": known.get("name")})


class GitHubEmails(GitHubUser):
    def get(self) -> None:
        known = self.known()
        if known is None:
            self.answer({"message": "Bad credentials"}, 401)
        else:
            self.answer(known.get("emails", []))


def make_fake_app(fake: FakeProviders) -> tornado.web.Application:
    args = {"fake": fake}
    return tornado.web.Application([
        (r"/oidc/\.well-known/openid-configuration", Discovery, args),
        (r"/oidc/jwks", Jwks, args),
        (r"/oidc/authorize", Authorize, args),
        (r"/oidc/token", Token, args),
        (r"/graph/debug_token", DebugToken, args),
        (r"/graph/me", FacebookMe, args),
        (r"/github/applications/([^/]+)/token", GitHubTokenCheck, args),
        (r"/github/user", GitHubUser, args),
        (r"/github/user/emails", GitHubEmails, args),
    ])


def social_settings(fake: FakeProviders, app_url: str) -> dict[str, Any]:
    """Config overrides that point every provider at `fake` (a generic OIDC `corp` shares the fake issuer)."""
    ours = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    return {
        "social_providers": {
            "google": {**ours, "client_id": [CLIENT_ID, "our-ios-client-id"], "issuer": fake.issuer},
            "corp": {**ours, "issuer": fake.issuer, "scopes": ["openid", "email"]},
            "facebook": {**ours, "api_url": f"{fake.base_url}/graph"},
            "github": {**ours, "api_url": f"{fake.base_url}/github"},
        },
        "social_redirect_allowlist": ["https://app.example.com/signed-in"],
        "app_url": app_url + "/",
        "social_http_timeout_seconds": 1,
    }
