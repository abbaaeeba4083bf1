"""The page a magic link opens (`GET /magic-link?token=...`): the address and one button. A GET uses nothing up,
so a mail scanner that opens every link signs nobody in and leaves the link working; the button's POST signs in.

After the POST the browser goes back to the link's `redirect_to` (allow-listed when the code was asked for, and
checked again now) with the tokens in the URL fragment, which no server log or Referer header ever sees, as the
social browser flow does; without one, the page says the sign-in is done. The page's `form-action` admits that one
origin besides our own: browsers apply it to the redirect that follows a form's POST too.
"""

from __future__ import annotations

import urllib.parse

from handlers.pages import PageHandler

SIGNED_IN = "You're signed in: go back to the app."


class MagicLinkPage(PageHandler):
    async def get(self) -> None:
        token = self.get_query_argument("token", "")
        challenge = await self.services.passwordless.sign_in.check_link(token)
        if challenge.redirect_to:
            parts = urllib.parse.urlsplit(challenge.redirect_to)
            policy = self.pages.security_policy.replace("form-action 'self'",
                                                        f"form-action 'self' {parts.scheme}://{parts.netloc}")
            self.set_header("Content-Security-Policy", policy)
        self.render_page("magic-link.html", title="Sign in", email=challenge.destination, token=token)

    async def post(self) -> None:
        self.read_form()
        await self.rate_limit("token")
        user, tokens, redirect_to = await self.services.passwordless.sign_in.verify_link(self.field("token"), None,
                                                                                         self.client, page=True)
        if redirect_to:
            fragment = {"status": "success", "access_token": tokens.access.token,
                        "refresh_token": tokens.refresh.token, "token_type": "Bearer", "uid": user.uid}
            self.redirect(f"{redirect_to}#{urllib.parse.urlencode(fragment)}", status=303)
            return
        self.render_page("done.html", title="You're signed in", email=user.email, message=SIGNED_IN)
