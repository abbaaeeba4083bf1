"""Users: the stored account record, its canonical fields, and the MongoDB collection behind it.

The layer every other domain stands on (sessions authenticate against it, accounts change it, social sign-in
links to it), so it depends on none of them.
"""

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
from services.users.models import ConfirmingAddress, PendingEmailChange, User
from services.users.store import PRIVATE_FIELDS, UserStore
from services.users.versions import UserVersions

__all__ = ["MAX_EMAIL_LENGTH", "MAX_NAME_LENGTH", "PRIVATE_FIELDS", "ConfirmingAddress", "PendingEmailChange", "User",
           "UserCache", "UserStore", "UserVersions", "clean_name", "deliverable", "email_key", "normalize_email",
           "placeholder_address"]
