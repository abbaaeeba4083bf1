"""CAPTCHA: a solved challenge checked at the provider's siteverify endpoint (Cloudflare Turnstile, hCaptcha), where
the API asks for one (sign-ups, sign-in codes, password resets, logins by `CAPTCHA_LOGIN`), and the failed-login
lock's challenge that lets an account's owner past a lock by solving one.

A package of its own rather than part of limits: it is an outbound integration with a provider (HTTP, its secret,
its timeouts), which the limits package, all Redis, should not carry; limits keeps the seam (LockChallenge) and this
package plugs into it."""

from services.captcha.login import CaptchaLockChallenge, LoginCaptcha
from services.captcha.verifier import Captcha, NoCaptcha, SiteVerify

__all__ = ["Captcha", "CaptchaLockChallenge", "LoginCaptcha", "NoCaptcha", "SiteVerify"]
