"""Passkeys in a real browser: headless Chromium's virtual authenticator (a CTAP2 platform authenticator with
resident keys and user verification, added through Selenium) registers a passkey and signs in with it, on a small
page served for the test that hands our options to `navigator.credentials` as a web app would
(`PublicKeyCredential.parseCreationOptionsFromJSON`, `credential.toJSON()`).

The page lives on `http://localhost:<port>` (a secure context, as WebAuthn needs), the origin the server is told to
expect (`WEBAUTHN_ORIGINS`) for the RP ID `localhost`; the test carries the options and the answers between the
page and the API, as the page's own fetch calls would.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.api import Api, token_claims
from support.browser import NEEDS_CHROMIUM, chromium
from support.processes import free_port

pytestmark = NEEDS_CHROMIUM

PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Passkeys</title></head><body><h1>Passkeys</h1>
<script>
window.register = async (options) => {
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
  return credential.toJSON();
};
window.signIn = async (options) => {
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)});
  return credential.toJSON();
};
</script></body></html>
"""
CALL = """const [name, options, done] = arguments;
window[name](options).then(done, (error) => done({error: String(error)}));"""


class PageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test's output is the assertions."""


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(page_origin: str) -> dict[str, Any]:
    return {"webauthn_rp_id": "localhost", "webauthn_origins": [page_origin], "webauthn_user_verification": "required"}


@pytest.fixture
def browser(tmp_path: Path, page_origin: str) -> Iterator[Any]:
    from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions

    with chromium(tmp_path / "chromium-profile") as driver:
        driver.set_script_timeout(20)
        driver.get(page_origin + "/")
        options = VirtualAuthenticatorOptions()
        options.protocol = VirtualAuthenticatorOptions.Protocol.CTAP2
        options.transport = VirtualAuthenticatorOptions.Transport.INTERNAL
        options.has_resident_key = True
        options.has_user_verification = True
        options.is_user_verified = True
        driver.add_virtual_authenticator(options)
        yield driver


def in_page(browser: Any, name: str, options: dict[str, Any]) -> dict[str, Any]:
    answer = browser.execute_async_script(CALL, name, options)
    assert "error" not in answer, answer
    return answer


@pytest.mark.gen_test(timeout=60)
async def test_chromium_registers_a_passkey_and_signs_in_with_it(api: Api, browser: Any) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    options = await api.post("/user/passkeys/options", {"name": "Chromium"}, token=tokens["access_token"])
    assert options.status == 200, options.body
    credential = in_page(browser, "register", options.json["options"])
    added = await api.post("/user/passkeys", {"challenge_id": options.json["challenge_id"], "credential": credential},
                           token=tokens["access_token"])
    assert added.status == 200, added.body
    assert len(browser.get_credentials()) == 1 and browser.get_credentials()[0].is_resident_credential

    sign_in = await api.post("/login/passkey/options", {})
    assert sign_in.json["options"]["allowCredentials"] == []  # discoverable: the authenticator offers the account
    assertion = in_page(browser, "signIn", sign_in.json["options"])
    signed_in = await api.post("/login/passkey", {"challenge_id": sign_in.json["challenge_id"],
                                                  "credential": assertion})
    assert signed_in.status == 200, signed_in.body
    assert signed_in.json["uid"] == token_claims(tokens["access_token"])["sub"]
    claims = token_claims(signed_in.json["tokens"]["access_token"])
    assert claims["aal"] == "aal2" and "user" in claims["amr"] and {"hwk", "swk"} & set(claims["amr"])
    assert (await api.get("/user", token=signed_in.json["tokens"]["access_token"])).status == 200
