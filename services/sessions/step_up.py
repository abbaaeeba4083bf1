"""What an access token's assurance admits: the MFA enforcement on every request, and the re-authentication that
every change able to hand over an account asks for (NIST 800-63B §4.2.3, OWASP ASVS v4 3.7.1).

- `MfaEnforcement` (`MFA_ENFORCEMENT`): with `highest_available`, a user who has a second factor reaches nothing
  with an aal1 token but the few endpoints that lead to aal2 (`GET /user/mfa`, `/mfa/challenge`, `/mfa/verify`,
  `/logout`; `/refresh` takes refresh tokens): a stolen password alone then opens no account. With `aal1` every
  endpoint takes such tokens and resource servers decide from the `aal` claim.
- `require_step_up`: a password or address change, deleting the account, adding or removing a factor or a passkey,
  new recovery codes: a fresh token (a login with `fresh_token: true`) and, once the user has a second factor,
  aal2 as well, whatever `MFA_ENFORCEMENT` says. One helper, so no such operation can forget half of the rule.
"""

from __future__ import annotations

from services.context import Caller
from services.outcomes import FRESH_TOKEN_REQUIRED, MFA_REQUIRED, AuthError

HIGHEST_AVAILABLE = "highest_available"


def require_step_up(caller: Caller, *, fresh: bool = True) -> None:
    """Refuse unless the caller re-authenticated as strongly as the account allows: `fresh` (a token from a fresh
    login; False where the operation has a rule of its own for stale tokens, as an address change does), and aal2
    once the user has a second factor. An anonymous account (services/passwordless/anonymous.py) has nothing to log
    in with again, so its sessions are all it has: it needs no fresh token."""
    if fresh and not caller.claims.fresh and not caller.user.is_anonymous:
        raise AuthError(FRESH_TOKEN_REQUIRED)
    if caller.user.has_second_factor and caller.assurance.aal != "aal2":
        raise AuthError(MFA_REQUIRED, "This change needs your second factor: verify it with POST /mfa/challenge "
                                      "and POST /mfa/verify, then try again.")


class MfaEnforcement:
    def __init__(self, mode: str = HIGHEST_AVAILABLE) -> None:
        self._enforced = mode == HIGHEST_AVAILABLE

    def admit(self, caller: Caller, *, before_second_factor: bool = False) -> Caller:
        """The caller, unless its token is aal1 while the user has a second factor and the endpoint is not one of
        those that lead to aal2 (`before_second_factor`)."""
        if (self._enforced and not before_second_factor and caller.user.has_second_factor
                and caller.assurance.aal != "aal2"):
            raise AuthError(MFA_REQUIRED)
        return caller
