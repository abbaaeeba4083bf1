"""What operators and native apps see of second factors and passkeys: metrics, the association files, the settings
that must be right before the server starts, and passkey options that take as long for any address."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
from support.api import Api, assert_error, token_claims, with_settings
from support.mfa import code_for, enrol_totp, verify_totp
from support.webauthn import SoftwareAuthenticator

from services.config import ConfigError, load_config

FINGERPRINT = ":".join(["14"] * 32)
ANDROID_ORIGIN = "android:apk-key-hash:" + "A" * 43


@pytest.mark.gen_test
async def test_metrics_count_second_factor_outcomes(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"])
    aal1 = (await api.login()).json["tokens"]["access_token"]
    wrong = "000000" if code_for(secret, 1) != "000000" else "999999"
    assert (await verify_totp(api, aal1, enrolled["factor_id"], wrong)).status == 400
    assert (await verify_totp(api, aal1, enrolled["factor_id"], code_for(secret, 1))).status == 200
    lines = (await api.get("/metrics")).body.decode().splitlines()
    for line in ('auth_mfa_total{action="enrol-totp",outcome="success"} 1.0',
                 'auth_mfa_total{action="verify-totp",outcome="auth/mfa-code-invalid"} 1.0',
                 'auth_mfa_total{action="verify-totp",outcome="success"} 1.0'):
        assert line in lines, line


@with_settings(apple_app_ids=["ABCDE12345.com.example.app"], webauthn_rp_id="localhost",
               android_apps=[{"package_name": "com.example.app", "sha256_cert_fingerprints": [FINGERPRINT]}])
@pytest.mark.gen_test
async def test_native_apps_find_their_association_files(api: Api, settings: Any) -> None:
    apple = await api.get("/.well-known/apple-app-site-association")
    assert apple.status == 200 and apple.headers["Content-Type"].startswith("application/json")
    assert apple.json == {"webcredentials": {"apps": ["ABCDE12345.com.example.app"]}}
    android = await api.get("/.well-known/assetlinks.json")
    assert android.status == 200 and android.headers["Content-Type"].startswith("application/json")
    assert android.json == [{"relation": ["delegate_permission/common.get_login_creds"],
                             "target": {"namespace": "android_app", "package_name": "com.example.app",
                                        "sha256_cert_fingerprints": [FINGERPRINT]}}]


async def passkey_ceremonies(api: Api, authenticator: SoftwareAuthenticator) -> tuple[Any, Any]:
    """Register a passkey from `authenticator`, then sign in with it: both answers."""
    token = (await api.signed_up_tokens(fresh=True))["access_token"]
    options = (await api.post("/user/passkeys/options", {"name": "Pixel"}, token=token)).json
    added = await api.post("/user/passkeys", {"challenge_id": options["challenge_id"],
                                              "credential": authenticator.create(options["options"])}, token=token)
    request = (await api.post("/login/passkey/options", {})).json
    signed_in = await api.post("/login/passkey", {"challenge_id": request["challenge_id"],
                                                  "credential": authenticator.get(request["options"])})
    return added, signed_in


@with_settings(webauthn_origins=("http://localhost:8080", ANDROID_ORIGIN))
@pytest.mark.gen_test
async def test_an_android_app_listed_in_the_origins_registers_and_signs_in(api: Api, settings: Any) -> None:
    """An Android app's ceremonies carry `android:apk-key-hash:<its signing key>` as their origin, not a URL."""
    added, signed_in = await passkey_ceremonies(api, SoftwareAuthenticator(ANDROID_ORIGIN))
    assert added.status == 200, added.body
    assert signed_in.status == 200, signed_in.body
    assert token_claims(signed_in.json["tokens"]["access_token"])["aal"] == "aal2"


@pytest.mark.gen_test
async def test_an_android_app_not_listed_in_the_origins_is_refused(api: Api) -> None:
    added, _ = await passkey_ceremonies(api, SoftwareAuthenticator(ANDROID_ORIGIN))
    assert_error(added, 400, "auth/passkey-invalid")


def test_the_relying_party_follows_app_url_unless_told_otherwise() -> None:
    config = load_config(None, environ={"APP_URL": "https://auth.example.com/"})
    assert (config.webauthn_rp_id, config.webauthn_origins) == ("auth.example.com", ("https://auth.example.com",))
    config = load_config(None, environ={"APP_URL": "https://auth.example.com/", "WEBAUTHN_RP_ID": "example.com",
                                        "WEBAUTHN_ORIGINS": f"https://example.com:443,https://app.example.com,"
                                                            f"{ANDROID_ORIGIN}"})
    assert config.webauthn_origins == ("https://example.com", "https://app.example.com", ANDROID_ORIGIN)


@pytest.mark.parametrize(("name", "value"), [
    ("WEBAUTHN_ORIGINS", "https://evil.example"), ("WEBAUTHN_ORIGINS", "android:apk-key-hash:short"),
    ("WEBAUTHN_ORIGINS", "https://localhost/path"), ("WEBAUTHN_USER_VERIFICATION", "discouraged"),
    ("MFA_ENFORCEMENT", "aal3"), ("APPLE_APP_IDS", "com.example.app"), ("MFA_CHALLENGE_ATTEMPTS", "0"),
    ("ANDROID_APPS", '[{"package_name": "app"}]'), ("ANDROID_APPS", '[{"package_name": "com.example.app", '
                                                                    '"sha256_cert_fingerprints": ["nope"]}]'),
    ("SOCIAL_PROVIDERS", '{"passkey": {"issuer": "https://id.example.com", "client_id": "x"}}'),
], ids=lambda value: str(value)[:24])
def test_a_bad_setting_stops_the_start_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config(None, environ={name: value})


@with_settings(rate_limit_token="1000/1m")
@pytest.mark.gen_test(timeout=60)
async def test_passkey_options_for_an_unknown_address_take_as_long_as_for_a_known_one(api: Api,
                                                                                    settings: Any) -> None:
    assert (await api.signup()).status == 200
    times: dict[str, list[float]] = {"omar@quazi.co": [], "nobody@quazi.co": []}
    shapes = set()
    for _ in range(3):  # warm-up
        await api.post("/login/passkey/options", {"email": "warm@quazi.co"})
    for _ in range(30):
        for email, samples in times.items():
            started = time.perf_counter()
            answer = await api.post("/login/passkey/options", {"email": email})
            samples.append(time.perf_counter() - started)
            shapes.add((answer.status, tuple(sorted(answer.json)), tuple(sorted(answer.json["options"])),
                        len(answer.json["options"]["allowCredentials"])))
    medians = sorted(statistics.median(samples) for samples in times.values())
    assert medians[1] <= medians[0] * 1.3 + 0.001, times
    assert len(shapes) == 1, shapes
