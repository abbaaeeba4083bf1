"""Sessions: one per login on one device, in Redis; the per-request authentication of tokens against them and the
user's epoch; refresh-token rotation with reuse detection; how long sessions live and how many a user holds;
logging out here, everywhere, or everyone; what a token's assurance (aal) admits."""

from services.sessions.access import APP_METADATA_CLAIM, AccessTokens, ClaimsHook
from services.sessions.authenticator import Authenticator
from services.sessions.epochs import TokenEpochs
from services.sessions.policy import ReuseMode, SessionPolicy
from services.sessions.refresh import RefreshRotation
from services.sessions.service import SessionService
from services.sessions.step_up import MfaEnforcement, require_step_up
from services.sessions.store import Created, Rotation, Session, SessionStore, TokenState

__all__ = ["APP_METADATA_CLAIM", "AccessTokens", "Authenticator", "ClaimsHook", "Created", "MfaEnforcement",
           "RefreshRotation", "ReuseMode", "Rotation", "Session", "SessionPolicy", "SessionService", "SessionStore",
           "TokenEpochs", "TokenState", "require_step_up"]
