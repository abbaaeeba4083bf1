"""Apple's client secret: an ES256 JWT signed with the developer's key, cached, and sent to the token endpoint."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import jwt
import pytest
import tornado.httpclient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from support.providers import CLIENT_ID, FakeProviders, social_settings

from services.config import parse_providers
from services.social.apple import APPLE_AUDIENCE, AppleClientSecret

TEAM_ID = "TEAM123456"
KEY_ID = "KEY7654321"
APP_PAGE = "https://app.example.com/signed-in"


def pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def apple_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def key_file(tmp_path: Path, apple_key: ec.EllipticCurvePrivateKey) -> Path:
    path = tmp_path / f"AuthKey_{KEY_ID}.p8"
    path.write_text(pem(apple_key))
    return path


def apple_entry(**more: Any) -> dict[str, Any]:
    return {"apple": {"client_id": "com.example.web", "team_id": TEAM_ID, "key_id": KEY_ID, **more}}


def decode(secret: str, key: ec.EllipticCurvePrivateKey, client_id: str = "com.example.web") -> dict[str, Any]:
    claims = jwt.decode(secret, key.public_key(), algorithms=["ES256"], audience=APPLE_AUDIENCE,
                        issuer=TEAM_ID, options={"require": ["iss", "iat", "exp", "aud", "sub"]})
    assert claims["sub"] == client_id
    return claims


def test_the_key_is_read_from_a_file_or_pem_once(key_file: Path, apple_key: ec.EllipticCurvePrivateKey) -> None:
    [from_file] = parse_providers(apple_entry(private_key_file=str(key_file)))
    [from_pem] = parse_providers(json.dumps(apple_entry(private_key=pem(apple_key))))  # as SOCIAL_PROVIDERS JSON
    for config in (from_file, from_pem):
        assert isinstance(config.signing_key, ec.EllipticCurvePrivateKey)
        assert (config.team_id, config.key_id, config.client_secret) == (TEAM_ID, KEY_ID, "")
        assert config.signing_key.private_numbers() == apple_key.private_numbers()
        assert "PRIVATE" not in repr(config)


def test_the_secret_is_an_es256_jwt_apple_accepts(apple_key: ec.EllipticCurvePrivateKey) -> None:
    secret = AppleClientSecret(TEAM_ID, KEY_ID, "com.example.web", apple_key, clock=lambda: 1_700_000_000).current()
    header = jwt.get_unverified_header(secret)
    assert header["alg"] == "ES256" and header["kid"] == KEY_ID
    claims = jwt.decode(secret, apple_key.public_key(), algorithms=["ES256"], audience=APPLE_AUDIENCE,
                        options={"verify_exp": False, "verify_iat": False})
    assert claims == {"iss": TEAM_ID, "iat": 1_700_000_000, "exp": 1_700_003_600, "aud": APPLE_AUDIENCE,
                      "sub": "com.example.web"}
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(secret, other.public_key(), algorithms=["ES256"], audience=APPLE_AUDIENCE,
                   options={"verify_exp": False, "verify_iat": False})


def test_the_secret_is_cached_and_renewed_before_it_expires(apple_key: ec.EllipticCurvePrivateKey) -> None:
    now = [1_700_000_000.0]
    signer = AppleClientSecret(TEAM_ID, KEY_ID, "com.example.web", apple_key, clock=lambda: now[0])
    first = signer.current()
    now[0] += 3600 - 301
    assert signer.current() == first  # still more than the renewal margin to go
    now[0] += 1
    renewed = signer.current()
    assert renewed != first
    assert jwt.decode(renewed, options={"verify_signature": False})["iat"] == int(now[0])
    with pytest.raises(ValueError, match="six months"):
        AppleClientSecret(TEAM_ID, KEY_ID, "x", apple_key, lifetime=15_777_001)


@pytest.mark.parametrize(("entry", "message"), [
    (apple_entry(), "exactly one of private_key and private_key_file"),
    (apple_entry(private_key="not a key"), "not an unencrypted PEM private key"),
    (apple_entry(private_key_file="/nonexistent/AuthKey.p8"), "cannot read private_key_file"),
    ({"apple": {"client_id": "x", "key_id": KEY_ID, "private_key": "k"}}, "needs team_id, key_id"),
    (apple_entry(client_secret="fixed", private_key="k"), "exclude each other"),
], ids=["no-key", "bad-pem", "missing-file", "no-team", "both-secrets"])
def test_bad_signing_settings_stop_the_server(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_providers(entry)


def test_only_a_p256_key_will_do() -> None:
    for key in (rsa.generate_private_key(public_exponent=65537, key_size=2048),
                ec.generate_private_key(ec.SECP384R1())):
        with pytest.raises(ValueError, match="EC P-256"):
            parse_providers(apple_entry(private_key=pem(key)))


# --- the token exchange ----------------------------------------------------------------------------------


@pytest.fixture
def settings(fake_providers: FakeProviders, base_url: str, key_file: Path) -> dict[str, Any]:
    values = social_settings(fake_providers, base_url)
    values["social_providers"]["apple"] = {"client_id": CLIENT_ID, "issuer": fake_providers.issuer,
                                           "team_id": TEAM_ID, "key_id": KEY_ID, "private_key_file": str(key_file)}
    return values


@pytest.mark.gen_test
async def test_the_token_exchange_sends_the_signed_secret(http_client: tornado.httpclient.AsyncHTTPClient,
                                                          base_url: str, fake_providers: FakeProviders,
                                                          apple_key: ec.EllipticCurvePrivateKey) -> None:
    def apple_accepts(secret: str) -> bool:
        try:
            decode(secret, apple_key, CLIENT_ID)
        except jwt.PyJWTError:
            return False
        return jwt.get_unverified_header(secret)["kid"] == KEY_ID

    fake_providers.secret_check = apple_accepts

    async def fetch(url: str, **kwargs: Any) -> tornado.httpclient.HTTPResponse:
        url = url if url.startswith("http") else base_url + url
        return await http_client.fetch(url, follow_redirects=False, raise_error=False, **kwargs)

    start = await fetch("/authorize/apple?" + urllib.parse.urlencode({"redirect_to": APP_PAGE}))
    assert start.code == 302, start.body
    cookie = start.headers["Set-Cookie"].split(";")[0]
    page = json.loads((await fetch(start.headers["Location"])).body)  # the fake's form_post page
    back = await fetch(page["action"], method="POST", headers={"Cookie": cookie,
                       "Content-Type": "application/x-www-form-urlencoded"},
                       body=urllib.parse.urlencode(page["fields"]))
    location = back.headers.get("Location", "")
    outcome = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).fragment))
    assert back.code == 302 and outcome["status"] == "success", (location, back.body)
    [form] = fake_providers.token_forms
    assert form["client_id"] == CLIENT_ID and apple_accepts(form["client_secret"])
