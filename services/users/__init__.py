"""Users: the stored account record, its canonical fields, and the MongoDB collection behind it.

The layer every other domain stands on (sessions authenticate against it, accounts change it, social sign-in
links to it), so it depends on none of them.
"""

from services.users.admission import OpenSignups, SignupCandidate, SignupGate, SignupMethod
from services.users.cache import UserCache
from services.users.fields import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    clean_name,
    deliverable,
    email_key,
    normalize_email,
    placeholder_address,
)
from services.users.metadata import MAX_METADATA_BYTES, metadata_object
from services.users.models import ConfirmingAddress, FactorRef, FactorType, PendingEmailChange, User
from services.users.pages import PageRequest, Position
from services.users.store import PRIVATE_FIELDS, UserStore
from services.users.versions import UserVersions

__all__ = ["MAX_EMAIL_LENGTH", "MAX_METADATA_BYTES", "MAX_NAME_LENGTH", "PRIVATE_FIELDS", "ConfirmingAddress",
           "FactorRef", "FactorType", "OpenSignups", "PageRequest", "PendingEmailChange", "Position",
           "SignupCandidate", "SignupGate", "SignupMethod", "User", "UserCache", "UserStore", "UserVersions",
           "clean_name", "deliverable", "email_key", "metadata_object", "normalize_email", "placeholder_address"]
