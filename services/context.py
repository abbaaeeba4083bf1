"""The request vocabulary every package shares: who is calling, from where, and the tokens a login hands out.

"Caller" is the authenticated party of one request; "identity" means only a linked provider account
(services/social), as in GoTrue's `models.Identity`.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.tokens import Assurance, Claims, IssuedToken
from services.users import User


@dataclass(frozen=True)
class Client:
    """Where a request came from, as the handler resolved it."""

    ip: str
    user_agent: str = ""
    # The token of a CAPTCHA the client solved (`captcha_token`), on the requests that may need one (services/captcha).
    captcha_token: str | None = None


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken
    assurance: Assurance = Assurance()  # what the access token says (`aal`, `amr`): the login answer shows it


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the verified claims and the user they belong to, loaded once."""

    claims: Claims
    user: User

    @property
    def uid(self) -> str:
        return self.user.uid

    @property
    def session_id(self) -> str:
        return self.claims.session_id

    @property
    def assurance(self) -> Assurance:
        """How this session's holder proved who they are (`aal`, `amr`)."""
        return self.claims.assurance
