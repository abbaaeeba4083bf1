"""The public, unauthenticated endpoints and what every answer carries: shapes, errors, headers, CORS.

Shapes are compared whole against the seed README, so an added, missing or renamed field fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
from support.api import Api, Response, assert_error

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
APP_ORIGIN = "https://app.example.com"
CORS = {"cors_origins": (APP_ORIGIN,)}


def kids_on_disk(keys_dir: Path) -> dict[str, str]:
    return {path.stem: path.read_text().strip() for path in keys_dir.glob("*.pub")}



def assert_security_headers(response: Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))


# --- shapes -------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_index_is_exactly_the_seed_answer(api: Api) -> None:
    response = await api.get("/")
    assert response.status == 200
    assert response.json == {"message": "Python JWT Auth API", "version": "0.0.1"}
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.gen_test
async def test_settings_is_exactly_the_seed_answer(api: Api) -> None:
    response = await api.get("/settings")
    assert response.status == 200
    assert response.json == {
        "alg": "RS256",
        "disable_signup": False,
        "external_auth": {"facebook": False, "google": False, "instagram": False, "twitter": False},
        "key_url": "/settings/keys",
        "version": "0.0.1",
    }


@pytest.mark.gen_test
async def test_settings_keys_maps_every_kid_to_its_public_pem(api: Api, keys_dir: Path) -> None:
    response = await api.get("/settings/keys")
    assert response.status == 200
    on_disk = kids_on_disk(keys_dir)
    assert len(on_disk) == 1
    assert response.json == on_disk
    for pem in response.json.values():
        assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
        assert pem.endswith("-----END PUBLIC KEY-----")
        assert "PRIVATE" not in pem


@pytest.mark.gen_test
async def test_jwks_lists_public_members_only(api: Api, keys_dir: Path) -> None:
    response = await api.get("/.well-known/jwks.json")
    assert response.status == 200
    assert set(response.json) == {"keys"}
    keys = response.json["keys"]
    assert [key["kid"] for key in keys] == sorted(kids_on_disk(keys_dir))
    for key in keys:
        assert key["kty"] == "RSA"
        assert key["alg"] == "RS256"
        assert key["use"] == "sig"
        assert key["n"] and key["e"]
        assert not PRIVATE_JWK_MEMBERS & set(key), key


@pytest.mark.gen_test
async def test_jwks_key_verifies_an_issued_access_token(api: Api) -> None:
    """A standard JWT library, given only the JWK Set, accepts the server's tokens."""
    token = (await api.signed_up_tokens())["access_token"]
    keys = {key["kid"]: key for key in (await api.get("/.well-known/jwks.json")).json["keys"]}
    header = jwt.get_unverified_header(token)
    public_key = jwt.PyJWK(keys[header["kid"]]).key
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience="python-jwt-auth", issuer="localhost")
    assert claims["data"]["type"] == "access_token"


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/nope", "/settings/keys/x", "/user/", "/.well-known/other.json"])
async def test_unknown_address_is_a_json_404(api: Api, path: str) -> None:
    response = await api.get(path)
    assert_error(response, 404, "auth/not-found")
    assert_security_headers(response)


@pytest.mark.gen_test
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/signup"), ("GET", "/login"), ("POST", "/"), ("POST", "/user"), ("PUT", "/settings"),
    ("PATCH", "/refresh"),
])
async def test_wrong_method_is_a_json_405(api: Api, method: str, path: str) -> None:
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    response = await api.request(method, path, body=body)
    assert_error(response, 405, "auth/method-not-allowed")
    assert_security_headers(response)


# --- headers ------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_security_headers_on_every_kind_of_answer(api: Api) -> None:
    responses = [await api.get("/"), await api.get("/settings"), await api.get("/.well-known/jwks.json"),
                 await api.post("/signup", {"email": "x"}), await api.get("/user")]
    for response in responses:
        assert_security_headers(response)
        assert "Content-Security-Policy" in response.headers
    assert [r.status for r in responses] == [200, 200, 200, 400, 401]


@pytest.mark.gen_test
async def test_token_answers_are_never_cached(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    responses = {
        "login": await api.login(),
        "refresh": await api.post("/refresh", {"token": tokens["refresh_token"]}),
        "user": await api.get("/user", token=tokens["access_token"]),
        "login failure": await api.login(password="wrong password!"),
    }
    for name, response in responses.items():
        assert response.headers.get("Cache-Control") == "no-store", name
        assert_security_headers(response)
    assert [r.status for r in responses.values()] == [200, 200, 200, 401]


# --- CORS ---------------------------------------------------------------------------------------------


def preflight_headers(origin: str) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "python-auth, content-type"}


@pytest.mark.gen_test
@pytest.mark.parametrize("settings", [CORS], ids=["cors"])
async def test_allowed_origin_gets_cors_headers(api: Api, settings: dict[str, Any]) -> None:
    response = await api.get("/settings", headers={"Origin": APP_ORIGIN})
    assert response.status == 200
    assert response.headers.get("Access-Control-Allow-Origin") == APP_ORIGIN
    assert "Origin" in response.headers.get("Vary", "")


@pytest.mark.gen_test
@pytest.mark.parametrize("settings", [CORS], ids=["cors"])
async def test_allowed_origin_preflight_is_204_with_methods_and_headers(api: Api, settings: dict[str, Any]) -> None:
    response = await api.request("OPTIONS", "/user", headers=preflight_headers(APP_ORIGIN))
    assert response.status == 204
    assert response.body == b""
    assert response.headers.get("Access-Control-Allow-Origin") == APP_ORIGIN
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "PATCH"} <= methods
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"python-auth", "authorization", "content-type"} <= allowed


@pytest.mark.gen_test
@pytest.mark.parametrize("settings", [CORS], ids=["cors"])
async def test_foreign_origin_gets_no_cors_headers(api: Api, settings: dict[str, Any]) -> None:
    evil = "https://evil.example.com"
    for response in (await api.get("/settings", headers={"Origin": evil}),
                     await api.request("OPTIONS", "/user", headers=preflight_headers(evil))):
        assert not [name for name in response.headers if name.lower().startswith("access-control-")], \
            dict(response.headers)


@pytest.mark.gen_test
async def test_no_origin_is_allowed_by_default(api: Api) -> None:
    response = await api.get("/settings", headers={"Origin": APP_ORIGIN})
    assert response.status == 200
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.gen_test
@pytest.mark.parametrize("settings", [CORS], ids=["cors"])
@pytest.mark.parametrize("origin", [None, "https://evil.example.com", APP_ORIGIN], ids=["none", "foreign", "allowed"])
async def test_cacheable_keys_vary_by_origin_whatever_the_origin(api: Api, settings: dict[str, Any],
                                                                origin: str | None) -> None:
    """/settings/keys may sit in a shared cache: an answer without CORS headers must not reach the allowed origin."""
    response = await api.get("/settings/keys", headers={"Origin": origin} if origin else {})
    assert response.status == 200
    assert response.headers["Cache-Control"].startswith("public")
    assert "Origin" in [v.strip() for v in response.headers.get("Vary", "").split(",")], dict(response.headers)


@pytest.mark.gen_test
@pytest.mark.parametrize("settings", [{"cors_origins": ("*",)}], ids=["any-origin"])
async def test_any_origin_never_comes_with_credentials(api: Api, settings: dict[str, Any]) -> None:
    """Issue 12, item 8: `*` used to reflect the caller's origin, credentials allowed on the linking route, so any
    site could make credentialed calls there. `*` is answered as `*`, which browsers never pair with cookies."""
    evil = "https://evil.example.com"
    for response in (await api.request("OPTIONS", "/user/identities/google", headers=preflight_headers(evil)),
                     await api.post("/user/identities/google", {}, headers={"Origin": evil}),
                     await api.get("/settings", headers={"Origin": evil})):
        assert response.headers.get("Access-Control-Allow-Origin") == "*", dict(response.headers)
        assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.gen_test
@pytest.mark.parametrize("settings", [{"cors_origins": ("*", APP_ORIGIN)}], ids=["any-and-listed"])
async def test_only_a_listed_origin_gets_credentials_where_a_route_needs_them(api: Api,
                                                                             settings: dict[str, Any]) -> None:
    listed = await api.request("OPTIONS", "/user/identities/google", headers=preflight_headers(APP_ORIGIN))
    assert listed.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert listed.headers["Access-Control-Allow-Credentials"] == "true"
    other = await api.request("OPTIONS", "/user/identities/google", headers=preflight_headers("https://x.example"))
    assert other.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in other.headers
    plain = await api.request("OPTIONS", "/user", headers=preflight_headers(APP_ORIGIN))
    assert plain.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "Access-Control-Allow-Credentials" not in plain.headers  # no other route needs cookies
