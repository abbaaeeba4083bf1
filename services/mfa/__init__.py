"""Second factors: TOTP authenticator apps, passkeys as factors, recovery codes; their store, the encryption of
TOTP secrets at rest, the pending steps (enrolments, challenges) in Redis, the WebAuthn relying party, and the step
from aal1 to aal2 in the caller's own session."""

from services.mfa.encryption import SealedValueError, SecretBox, load_secret_box, new_key_entry, parse_keys
from services.mfa.factors import MAX_FACTORS, MfaFactors
from services.mfa.models import Factor, PasskeyCredential
from services.mfa.pending import PendingStep, PendingSteps, new_id
from services.mfa.recovery import RecoveryCodes
from services.mfa.store import FactorStore
from services.mfa.verification import SecondFactorVerification
from services.mfa.webauthn import RelyingParty, answer_ids, uid_of_handle, user_handle

__all__ = ["MAX_FACTORS", "Factor", "FactorStore", "MfaFactors", "PasskeyCredential", "PendingStep", "PendingSteps",
           "RecoveryCodes", "RelyingParty", "SealedValueError", "SecondFactorVerification", "SecretBox",
           "answer_ids", "load_secret_box", "new_id", "new_key_entry", "parse_keys", "uid_of_handle",
           "user_handle"]
