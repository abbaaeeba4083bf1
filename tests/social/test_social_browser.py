"""The browser flow: `/authorize/<provider>` to the provider and back through `/callback/<provider>`.

A test plays the browser: it follows each redirect by hand, carries the state cookie, and reads our
tokens from the fragment of the final redirect to the app's allow-listed page.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

import pytest
import tornado.httpclient
from support.api import Api, Response, assert_error
from support.providers import CLIENT_ID, CLIENT_SECRET, FakeProviders, social_settings

from services.wiring import Services

APP_PAGE = "https://app.example.com/signed-in"


@pytest.fixture
def settings(fake_providers: FakeProviders, base_url: str) -> dict[str, Any]:
    values = social_settings(fake_providers, base_url)
    # Apple's defaults (response_mode form_post) with the fake issuer standing in for appleid.apple.com.
    values["social_providers"]["apple"] = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                           "issuer": fake_providers.issuer}
    return values


@dataclass
class Hop:
    status: int
    location: str
    cookie: str
    body: bytes
    raw_cookie: str = ""

    @property
    def query(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.location).query))

    @property
    def fragment(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.location).fragment))


@pytest.fixture
def browser(http_client: tornado.httpclient.AsyncHTTPClient, base_url: str) -> Any:
    async def go(url: str, cookie: str = "", form: dict[str, str] | None = None) -> Hop:
        """GET `url`, or with `form` POST it as a browser submits a form (cross-site: the caller decides
        which cookie goes along, as the browser's SameSite rules would)."""
        url = url if url.startswith("http") else base_url + url
        headers = {"Cookie": cookie} if cookie else {}
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = await http_client.fetch(url, follow_redirects=False, raise_error=False, headers=headers,
                                           method="GET" if form is None else "POST",
                                           body=None if form is None else urllib.parse.urlencode(form))
        set_cookie = response.headers.get("Set-Cookie", "")
        return Hop(response.code, response.headers.get("Location", ""), set_cookie.split(";")[0], response.body,
                   set_cookie)
    return go


async def authorize(browser: Any, provider: str = "google", **query: str) -> tuple[Hop, Hop]:
    """Our /authorize, then the provider's consent page: returns both hops (the second points at our callback)."""
    start = await browser(f"/authorize/{provider}?" + urllib.parse.urlencode({"redirect_to": APP_PAGE, **query}))
    assert start.status == 302, start.body
    consent = await browser(start.location)
    assert consent.status == 302, consent.body
    return start, consent


@pytest.mark.gen_test
async def test_the_full_flow_with_pkce_and_state(browser: Any, api: Api, fake_providers: FakeProviders,
                                                 base_url: str) -> None:
    start, consent = await authorize(browser)
    sent = start.query
    assert start.location.startswith(f"{fake_providers.issuer}/authorize?")
    assert sent["client_id"] == CLIENT_ID and sent["redirect_uri"] == f"{base_url}/callback/google"
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert sent["scope"] == "openid email profile" and sent["nonce"] and sent["state"]
    assert start.cookie == f"auth_oauth_state={sent['state']}"
    assert consent.location.startswith(f"{base_url}/callback/google?")

    back = await browser(consent.location, cookie=start.cookie)
    assert back.status == 302, back.body
    assert back.location.startswith(APP_PAGE + "#")
    tokens = back.fragment
    assert tokens["status"] == "success" and tokens["token_type"] == "Bearer"
    me = await api.get("/user", token=tokens["access_token"])
    assert me.status == 200 and me.json["uid"] == tokens["uid"] and me.json["email_verified"] is True
    refreshed = await api.post("/refresh", {"token": tokens["refresh_token"]})
    assert refreshed.status == 200

    replayed = await browser(consent.location, cookie=start.cookie)  # the same state and code again
    assert_error(_as_response(replayed), 400, "auth/invalid-state")


@pytest.mark.gen_test
async def test_a_tampered_or_unbound_state_is_refused(browser: Any) -> None:
    start, consent = await authorize(browser)
    state = consent.query["state"]
    tampered = consent.location.replace(f"state={state}", f"state={state[:-2]}xy")
    assert_error(_as_response(await browser(tampered, cookie=start.cookie)), 400, "auth/invalid-state")
    # The genuine state from a browser that did not start the flow (login CSRF): refused, and burnt.
    assert_error(_as_response(await browser(consent.location)), 400, "auth/invalid-state")
    assert_error(_as_response(await browser(consent.location, cookie=start.cookie)), 400, "auth/invalid-state")
    # A state made for another provider does not open this one's callback.
    other_start, other_consent = await authorize(browser)
    wrong_provider = other_consent.location.replace("/callback/google", "/callback/corp")
    assert_error(_as_response(await browser(wrong_provider, cookie=other_start.cookie)), 400, "auth/invalid-state")


@pytest.mark.gen_test
async def test_pkce_binds_the_code_to_the_flow_that_asked_for_it(browser: Any) -> None:
    _, consent_a = await authorize(browser)
    start_b, consent_b = await authorize(browser)
    # Flow A's code with flow B's state: we send B's verifier, which does not match A's challenge.
    crossed = consent_b.location.replace(f"code={consent_b.query['code']}", f"code={consent_a.query['code']}")
    back = await browser(crossed, cookie=start_b.cookie)
    assert back.status == 302 and back.location.startswith(APP_PAGE + "#")
    assert back.fragment["status"] == "error" and back.fragment["code"] == "auth/provider-denied"
    assert "access_token" not in back.fragment


@pytest.mark.parametrize("target", [
    "https://evil.example.com/signed-in", "https://app.example.com.evil.com/signed-in",
    "https://app.example.com@evil.com/signed-in", "http://app.example.com/signed-in",
    "https://app.example.com:8443/signed-in", "https://app.example.com/signed-in-elsewhere",
    "https://app.example.com/other", "//evil.example.com/signed-in", "javascript:alert(1)", "",
    # Item 6 of issue 12: control characters (a header injection that crashed /callback with a 500),
    # dot-segments and their encodings, pages below the allowed one, and anything not plain printable ASCII.
    # (Tornado turns control characters of a query argument into spaces: the JSON test below sends them raw.)
    APP_PAGE + "\r\nSet-Cookie: a=b", APP_PAGE + "?x=\ny", APP_PAGE + "%0d%0aSet-Cookie:%20a=b",
    APP_PAGE + "?next=%0a", APP_PAGE + "?q=\u00e9", APP_PAGE + "/../admin", APP_PAGE + "/%2e%2e/admin",
    APP_PAGE + "/%2E%2E%2Fadmin", "https://app.example.com/./signed-in", "https://app.example.com/x/../signed-in",
    APP_PAGE + "/..", APP_PAGE + "/deep", APP_PAGE + "/",
    APP_PAGE + "%2F..%2F..%2Fadmin",
])
@pytest.mark.gen_test
async def test_a_redirect_outside_the_allow_list_is_refused(browser: Any, target: str) -> None:
    start = await browser("/authorize/google?" + urllib.parse.urlencode({"redirect_to": target}))
    assert_error(_as_response(start), 400, "auth/invalid-redirect")
    assert not start.cookie


@pytest.mark.parametrize("target", [APP_PAGE, APP_PAGE + "?x=1&next=%2Fhome", "HTTPS://App.Example.COM/signed-in",
                                    "https://app.example.com:443/signed-in", "https://app.example.com/signed%2din"])
@pytest.mark.gen_test
async def test_the_allowed_page_is_compared_normalised_with_any_query(browser: Any, api: Api, target: str) -> None:
    start, consent = await authorize(browser, redirect_to=target)
    back = await browser(consent.location, cookie=start.cookie)
    assert back.status == 302 and back.fragment["status"] == "success", back.body
    # The browser goes back to the normalised page, the one that was compared.
    assert back.location.split("#")[0] == APP_PAGE + "".join(target.partition("?")[1:])
    assert (await api.get("/user", token=back.fragment["access_token"])).status == 200


async def verified_tokens(api: Api, services: Services, email: str = "omar@quazi.co") -> dict[str, str]:
    """A signed-in user whose address is verified: only such an account links a provider (issue 12, item 2)."""
    tokens = await api.signed_up_tokens(email=email)
    await services.users.update((await services.users.find_by_email(email)).uid, {"email_verified": True})
    return tokens


async def start_link(api: Api, browser: Any, access_token: str, provider: str = "google") -> tuple[Hop, Hop]:
    """`POST /user/identities/<provider>` with the token in a header, then the provider's consent page."""
    started = await api.post(f"/user/identities/{provider}", {"redirect_to": APP_PAGE}, token=access_token)
    assert started.status == 200, started.body
    url = started.json["authorize_url"]
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["state"]
    cookie = started.headers.get("Set-Cookie", "")
    assert cookie.startswith(f"auth_oauth_state={state};") and "HttpOnly" in cookie and "Path=/callback/" in cookie
    consent = await browser(url)
    assert consent.status == 302, consent.body
    return Hop(started.status, url, cookie.split(";")[0], started.body), consent


@pytest.mark.gen_test
async def test_a_signed_in_user_links_a_provider_in_the_browser(browser: Any, api: Api, fake_providers: FakeProviders,
                                                                services: Services) -> None:
    tokens = await verified_tokens(api, services, "someone@example.com")
    start, consent = await start_link(api, browser, tokens["access_token"])
    assert tokens["access_token"] not in start.location  # the token never travels in a URL
    back = await browser(consent.location, cookie=start.cookie)
    assert back.fragment == {"status": "success", "code": "auth/identity-linked", "provider": "google"}
    listed = (await api.get("/user/identities", token=tokens["access_token"])).json["identities"]
    assert [item["provider"] for item in listed] == ["google"]
    # From now on the Google account (another address than the account's) signs in to this user.
    signed_in = await api.post("/login/google", {"id_token": fake_providers.id_token()})
    assert signed_in.json["email"] == "someone@example.com"


@pytest.mark.parametrize("suffix", ["\r\nSet-Cookie: a=b", "\n", "\r", "?x=\r\n", "\t", "\x00", "\x7f", " ",
                                    "\u2028", "/..", "/%2e%2e/x"])
@pytest.mark.gen_test
async def test_a_linking_redirect_with_control_characters_is_refused(browser: Any, api: Api, services: Services,
                                                                    suffix: str) -> None:
    """Issue 12, item 6: JSON carries a CR/LF as sent; it passed the allow-list, and `/callback` then crashed with
    a 500 whose traceback logged the victim's tokens and the provider's code."""
    tokens = await verified_tokens(api, services)
    started = await api.post("/user/identities/google", {"redirect_to": APP_PAGE + suffix},
                             token=tokens["access_token"])
    assert_error(started, 400, "auth/invalid-redirect")
    assert "Set-Cookie" not in started.headers


@pytest.mark.gen_test
async def test_starting_a_link_needs_a_token_in_the_header(api: Api, services: Services) -> None:
    assert_error(await api.post("/user/identities/google", {"redirect_to": APP_PAGE}), 401, "auth/token-missing")
    assert_error(await api.post("/user/identities/google", {"redirect_to": APP_PAGE}, token="not-a-token"),
                 401, "auth/token-invalid")
    tokens = await verified_tokens(api, services)
    assert_error(await api.post("/user/identities/google", {"redirect_to": "https://evil.example.com/"},
                                token=tokens["access_token"]), 400, "auth/invalid-redirect")
    assert_error(await api.post("/user/identities/nope", {"redirect_to": APP_PAGE}, token=tokens["access_token"]),
                 404, "auth/provider-not-found")


@pytest.mark.gen_test
async def test_the_old_link_token_parameter_no_longer_links(browser: Any, api: Api) -> None:
    tokens = await api.signed_up_tokens(email="someone@example.com")
    old = await browser("/authorize/google?" + urllib.parse.urlencode(
        {"redirect_to": APP_PAGE, "link_token": tokens["access_token"]}))
    assert_error(_as_response(old), 400, "auth/invalid-field")
    assert not old.cookie and not old.location
    listed = (await api.get("/user/identities", token=tokens["access_token"])).json["identities"]
    assert listed == []


@pytest.mark.gen_test
async def test_a_link_started_by_one_user_cannot_be_finished_in_another_browser(
        browser: Any, api: Api, fake_providers: FakeProviders, services: Services) -> None:
    """Login CSRF: the attacker starts a link to their own account and sends the victim the authorize URL.
    The victim's browser comes back without the attacker's state cookie (or with its own), and is refused."""
    attacker = await verified_tokens(api, services, "attacker@example.com")
    start, consent = await start_link(api, browser, attacker["access_token"])
    assert_error(_as_response(await browser(consent.location)), 400, "auth/invalid-state")  # victim: no cookie
    # The state is burnt: not even the attacker's own browser can finish it afterwards.
    assert_error(_as_response(await browser(consent.location, cookie=start.cookie)), 400, "auth/invalid-state")
    # A victim that has a state cookie of its own (another flow) is refused too.
    victim_start, _ = await authorize(browser)
    _, consent_2 = await start_link(api, browser, attacker["access_token"])
    assert_error(_as_response(await browser(consent_2.location, cookie=victim_start.cookie)), 400,
                 "auth/invalid-state")
    listed = (await api.get("/user/identities", token=attacker["access_token"])).json["identities"]
    assert listed == []
    # The victim's Google account is still nobody's: it signs in to a new user of its own.
    victim = await api.post("/login/google", {"id_token": fake_providers.id_token()})
    assert victim.status == 200 and victim.json["email"] == "omar@quazi.co"


@pytest.mark.gen_test
async def test_an_identity_of_another_user_cannot_be_linked(browser: Any, api: Api, fake_providers: FakeProviders,
                                                            services: Services) -> None:
    assert (await api.post("/login/google", {"id_token": fake_providers.id_token()})).status == 200
    tokens = await verified_tokens(api, services, "someone@example.com")
    start, consent = await start_link(api, browser, tokens["access_token"])
    back = await browser(consent.location, cookie=start.cookie)
    assert back.fragment["code"] == "auth/identity-already-linked"


@pytest.mark.gen_test
async def test_a_denied_consent_and_an_unreachable_provider_come_back_as_errors(
        browser: Any, fake_providers: FakeProviders) -> None:
    start, consent = await authorize(browser)
    denied = consent.location.replace(f"code={consent.query['code']}", "error=access_denied")
    back = await browser(denied, cookie=start.cookie)
    assert back.fragment["code"] == "auth/provider-denied"

    start, consent = await authorize(browser)
    fake_providers.down = True
    back = await browser(consent.location, cookie=start.cookie)
    assert back.fragment["code"] == "auth/unavailable" and int(back.fragment["retry_after"]) >= 1
    # Discovery is cached, but nothing else: starting a new flow at a fresh provider is a 503 too.
    fresh = await browser("/authorize/corp?" + urllib.parse.urlencode({"redirect_to": APP_PAGE}))
    assert_error(_as_response(fresh), 503, "auth/unavailable")


@pytest.mark.gen_test
async def test_github_in_the_browser(browser: Any, base_url: str) -> None:
    start = await browser("/authorize/github?" + urllib.parse.urlencode({"redirect_to": APP_PAGE}))
    assert start.status == 302
    assert start.location.startswith("https://github.com/login/oauth/authorize?")
    assert start.query["redirect_uri"] == f"{base_url}/callback/github" and "nonce" not in start.query
    assert_error(_as_response(await browser("/authorize/nope?redirect_to=x")), 404, "auth/provider-not-found")


@pytest.mark.gen_test
async def test_apple_posts_back_with_form_post(browser: Any, api: Api, fake_providers: FakeProviders,
                                               base_url: str) -> None:
    start = await browser("/authorize/apple?" + urllib.parse.urlencode({"redirect_to": APP_PAGE}))
    assert start.status == 302 and start.query["response_mode"] == "form_post"
    assert start.query["scope"] == "openid email name"
    # A Lax cookie would not come along on Apple's cross-site POST: this one is SameSite=None; Secure.
    set_cookie = start.raw_cookie.lower()
    assert "samesite=none" in set_cookie and "secure" in set_cookie and "httponly" in set_cookie

    # First sign-in: Apple's ID token has no name; the unsigned `user` field gives it (and only it).
    fake_providers.next_user = {"name": None, "email": "apple-relay@privaterelay.appleid.com"}
    fake_providers.form_user = json.dumps({"name": {"firstName": "Jane", "lastName": "Appleseed"},
                                           "email": "forged@example.com"})
    page = json.loads((await browser(start.location)).body)
    assert page["action"] == f"{base_url}/callback/apple"
    back = await browser(page["action"], cookie=start.cookie, form=page["fields"])
    assert back.status == 302 and back.location.startswith(APP_PAGE + "#"), back.body
    tokens = back.fragment
    assert tokens["status"] == "success", tokens
    me = (await api.get("/user", token=tokens["access_token"])).json
    assert me["name"] == "Jane Appleseed" and me["email"] == "apple-relay@privaterelay.appleid.com"

    # The POST is bound like the GET: the state is single use and needs this browser's cookie.
    replayed = await browser(page["action"], cookie=start.cookie, form=page["fields"])
    assert_error(_as_response(replayed), 400, "auth/invalid-state")
    start = await browser("/authorize/apple?" + urllib.parse.urlencode({"redirect_to": APP_PAGE}))
    page = json.loads((await browser(start.location)).body)
    assert_error(_as_response(await browser(page["action"], form=page["fields"])), 400, "auth/invalid-state")

    # Later sign-ins carry no `user`: the same user, the name unchanged.
    fake_providers.form_user = None
    start = await browser("/authorize/apple?" + urllib.parse.urlencode({"redirect_to": APP_PAGE}))
    page = json.loads((await browser(start.location)).body)
    again = (await browser(page["action"], cookie=start.cookie, form=page["fields"])).fragment
    assert again["uid"] == tokens["uid"]


@pytest.mark.gen_test
async def test_a_form_post_callback_is_only_for_form_post_providers(browser: Any) -> None:
    start, consent = await authorize(browser)  # google: query mode, SameSite=Lax
    assert "samesite=lax" in start.raw_cookie.lower()
    posted = await browser("/callback/google", cookie=start.cookie, form=consent.query)
    assert_error(_as_response(posted), 405, "auth/method-not-allowed")


def _as_response(hop: Hop) -> Response:
    return Response(hop.status, {}, hop.body)
