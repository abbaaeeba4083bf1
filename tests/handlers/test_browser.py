"""The pages in a real browser: headless Chromium (Debian's chromium + chromium-driver) through Selenium,
against `server.py serve` with its mail caught by the test's SMTP server.

A person's path: ask for a reset on the page, take the link from the mail, fill in the form with the
keyboard, and the API then takes the new password and refuses the old one; confirm an address; meet an
expired and an invalid link; sign in with a magic link that a mail scanner opened first. Each page is saved as
a screenshot (UPDATE_SCREENSHOTS=1 writes them to docs/screenshots/ for docs/email.md and docs/passwordless.md).
Skipped only when Chromium or its driver is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from support.api import PASSWORD
from support.browser import NEEDS_CHROMIUM, chromium
from support.mail import SmtpServer
from support.processes import free_port, server_environ, stop_server

from services.infra import EmbeddedRedis
from services.tokens import ActionTokenStore

pytestmark = NEEDS_CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
NEW_PASSWORD = "Correct horse battery 42"
BLUE = "rgba(29, 78, 216, 1)"  # the buttons, as static/pages.css says


@dataclass
class Live:
    url: str
    redis: redis.Redis
    mail: SmtpServer
    log: Path

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310 (our own server)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def signup(self, email: str) -> None:
        status, answer = self.call("POST", "/signup", {"name": "Omar Quazi", "email": email, "password": PASSWORD})
        assert status == 200, answer

    def login(self, email: str, password: str) -> tuple[int, dict[str, Any]]:
        return self.call("POST", "/login", {"email": email, "password": password})


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer,
         redis_server: EmbeddedRedis) -> Iterator[Live]:
    """`server.py serve` mailing to the test's SMTP server, on its own Redis database; always stopped."""
    folder = tmp_path_factory.mktemp("browser")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/1"
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    store.flushdb()
    env = server_environ(
        JWT_KEYS=str(folder / "keys"), DATA_DIR=str(folder / "data"), BCRYPT_COST="4", REDIS_URL=redis_url,
        APP_URL=f"{url}/", APP_LOGO_URL=f"{url}/static/logo.svg", MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_server.port), SMTP_SECURITY="none", MAIL_RETRY_BASE_SECONDS="0.1",
        RATE_LIMIT_MAIL="1000/1m", RATE_LIMIT_MAIL_ADDRESS="1000/1m",
        # The app a magic link returns to: this server under another name, so another origin.
        SOCIAL_REDIRECT_ALLOWLIST=f"http://localhost:{port}/",
    )
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "server.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    server = Live(url, store, smtp_server, log)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                urllib.request.urlopen(url + "/", timeout=1).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        smtp_server.clear()
        yield server
    finally:
        stop_server(process)
        store.flushdb()
        store.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def screenshot(driver: Any, name: str, folder: Path) -> None:
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path))
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 5000
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / path.name)


def heading(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "h1").text


def contrast(driver: Any, css: str) -> float:
    """WCAG contrast ratio of an element's text against its (or the card's) background."""
    script = """
      const el = document.querySelector(arguments[0]);
      let bg = getComputedStyle(el).backgroundColor, node = el;
      while (bg === 'rgba(0, 0, 0, 0)' && node.parentElement) {
        node = node.parentElement;
        bg = getComputedStyle(node).backgroundColor;
      }
      return [getComputedStyle(el).color, bg];
    """
    fg, bg = (_luminance(color) for color in driver.execute_script(script, css))
    return (max(fg, bg) + 0.05) / (min(fg, bg) + 0.05)


def _luminance(color: str) -> float:
    channels = [int(part) / 255 for part in color[color.index("(") + 1:color.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def assert_usable(driver: Any) -> None:
    """What every page owes its readers: language, phone viewport, labelled fields, readable contrast, its CSS."""
    from selenium.webdriver.common.by import By

    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert driver.find_element(By.CSS_SELECTOR, 'meta[name="viewport"]').get_attribute("content").startswith(
        "width=device-width")
    for field in driver.find_elements(By.CSS_SELECTOR, "input:not([type=hidden]):not([hidden])"):
        assert driver.find_elements(By.CSS_SELECTOR, f'label[for="{field.get_attribute("id")}"]'), field
    assert contrast(driver, "h1") >= 4.5
    buttons = driver.find_elements(By.CSS_SELECTOR, "button, a.button")
    if buttons:
        assert buttons[0].value_of_css_property("background-color") == BLUE  # the stylesheet loaded
        assert contrast(driver, "button, a.button") >= 4.5
    # A strict CSP that broke the page would show here, and so would anything it had to block. The status of
    # a page itself (a 400 or 410 that says what went wrong with a link) is no problem.
    problems = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
                and not entry["message"].startswith(f"{driver.current_url} - Failed to load resource")]
    assert not problems, problems


def type_keys(driver: Any, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def submit(driver: Any, act: Any) -> None:
    """Do `act` (a key press, a click) and wait until the page it sends the form to has loaded."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")

    def replaced(_: Any) -> bool:
        # Chromium reports a node of the old page either as stale or, mid-navigation, as an "inspector error"
        # ("Node with given id does not belong to the document"): both mean the old page is gone.
        try:
            page.is_enabled()
        except WebDriverException:
            return True
        return False

    act()
    wait = WebDriverWait(driver, 10)
    wait.until(replaced)
    wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete")


def fill_in(driver: Any, field_id: str, *keys: str) -> None:
    """Focus a field and type, as a person does (the element is not used again once Enter sends the form)."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, field_id).click()
    type_keys(driver, *keys)


def focused_id(driver: Any) -> str:
    return driver.switch_to.active_element.get_attribute("id")


def test_resetting_a_password_with_the_mailed_link(live: Live, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    live.signup("omar@quazi.co")
    browser.get(f"{live.url}/forgot-password")
    assert heading(browser) == "Forgot your password?"
    assert_usable(browser)
    submit(browser, lambda: fill_in(browser, "email", "omar@quazi.co", Keys.ENTER))
    assert heading(browser) == "Check your inbox"

    link = live.mail.mail_sync("omar@quazi.co", "Reset").link("reset-password")
    assert link.startswith(f"{live.url}/reset-password?token=")
    browser.get(link)
    assert heading(browser) == "Choose a new password"
    assert focused_id(browser) == "password"  # straight to typing
    assert_usable(browser)
    screenshot(browser, "reset-form", tmp_path)
    browser.set_window_size(390, 844)
    assert browser.find_element(By.TAG_NAME, "button").size["width"] > 300  # full width on a phone
    screenshot(browser, "reset-form-mobile", tmp_path)
    browser.set_window_size(900, 900)

    type_keys(browser, NEW_PASSWORD, Keys.TAB)
    assert focused_id(browser) == "password_confirmation"
    submit(browser, lambda: type_keys(browser, "Correct horse battery 43", Keys.ENTER))
    assert browser.find_element(By.CSS_SELECTOR, "[role=alert]").text == "The two passwords are not the same."
    assert focused_id(browser) == "password"
    screenshot(browser, "reset-mismatch", tmp_path)

    submit(browser, lambda: type_keys(browser, NEW_PASSWORD, Keys.TAB, NEW_PASSWORD, Keys.ENTER))  # keyboard alone
    assert heading(browser) == "Your password has been changed"
    assert_usable(browser)
    screenshot(browser, "reset-done", tmp_path)

    assert live.login("omar@quazi.co", NEW_PASSWORD)[0] == 200
    status, answer = live.login("omar@quazi.co", PASSWORD)
    assert (status, answer["code"]) == (401, "auth/invalid-credentials")
    live.mail.mail_sync("omar@quazi.co", "password was changed")


def test_confirming_an_address_with_the_mailed_link(live: Live, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    live.signup("verify@quazi.co")
    browser.get(live.mail.mail_sync("verify@quazi.co", "Confirm").link("verify-email"))
    assert heading(browser) == "Confirm your email address"
    assert "verify@quazi.co" in browser.find_element(By.TAG_NAME, "main").text
    assert_usable(browser)
    screenshot(browser, "verify", tmp_path)
    assert live.login("verify@quazi.co", PASSWORD)[1]["email_verified"] is False

    submit(browser, browser.find_element(By.TAG_NAME, "button").click)
    assert heading(browser) == "Email address confirmed"
    assert_usable(browser)
    screenshot(browser, "verified", tmp_path)
    assert live.login("verify@quazi.co", PASSWORD)[1]["email_verified"] is True


def test_expired_and_invalid_links_offer_a_new_one(live: Live, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    live.signup("late@quazi.co")
    assert live.call("POST", "/password/forgot", {"email": "late@quazi.co"})[0] == 200
    link = live.mail.mail_sync("late@quazi.co", "Reset").link("reset-password")
    uid = link.partition("token=")[2].partition(".")[0]
    live.redis.hset(ActionTokenStore.key(uid, "reset"), "expires_at", int(time.time()) - 1)
    browser.get(link)
    assert heading(browser) == "This link has expired"
    assert_usable(browser)
    screenshot(browser, "link-expired", tmp_path)
    submit(browser, lambda: fill_in(browser, "email", "late@quazi.co", Keys.ENTER))
    assert heading(browser) == "Check your inbox"
    fresh = live.mail.mail_sync("late@quazi.co", "Reset", count=2).link("reset-password")
    assert fresh != link

    browser.get(f"{live.url}/reset-password?token={link.partition('token=')[2][:-4]}")
    assert heading(browser) == "This link does not work"
    assert browser.find_element(By.TAG_NAME, "button").text == "Mail me a reset link"
    assert_usable(browser)
    screenshot(browser, "link-invalid", tmp_path)


def test_signing_in_with_a_magic_link_that_a_mail_scanner_opened_first(live: Live, browser: Any,
                                                                       tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    app_page = f"{live.url.replace('127.0.0.1', 'localhost')}/"
    status, answer = live.call("POST", "/otp", {"email": "magic@quazi.co", "redirect_to": app_page})
    assert (status, answer["code"]) == (200, "auth/otp-sent")
    link = live.mail.mail_sync("magic@quazi.co", "sign-in code").link("magic-link")
    for _ in range(2):  # the scanner and a link preview: GETs that must use nothing up
        with urllib.request.urlopen(link, timeout=10) as scanned:  # noqa: S310 (our own server)
            assert scanned.status == 200 and b"Sign in" in scanned.read()

    browser.get(link)
    assert heading(browser) == "Sign in"
    assert "magic@quazi.co" in browser.find_element(By.TAG_NAME, "main").text
    assert_usable(browser)
    screenshot(browser, "magic-link", tmp_path)
    submit(browser, browser.find_element(By.TAG_NAME, "button").click)
    landed = urllib.parse.urlsplit(browser.current_url)
    assert f"{landed.scheme}://{landed.netloc}/" == app_page  # the form's redirect went to the app's origin
    tokens = dict(urllib.parse.parse_qsl(landed.fragment))
    assert tokens["status"] == "success" and tokens["token_type"] == "Bearer"
    request = urllib.request.Request(f"{live.url}/user",  # noqa: S310 (our own server)
                                     headers={"python-auth": f"Bearer {tokens['access_token']}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        me = json.loads(response.read())
    assert me["email"] == "magic@quazi.co" and me["email_verified"] is True and me["uid"] == tokens["uid"]

    browser.get(link)
    assert heading(browser) == "This link has already been used"
    assert_usable(browser)

    assert live.call("POST", "/otp", {"email": "magic@quazi.co"})[0] == 200  # no redirect_to: the page says so
    browser.get(live.mail.mail_sync("magic@quazi.co", "sign-in code", count=2).link("magic-link"))
    submit(browser, browser.find_element(By.TAG_NAME, "button").click)
    assert heading(browser) == "You're signed in"
    assert_usable(browser)
    screenshot(browser, "magic-link-done", tmp_path)
