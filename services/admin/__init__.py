"""The admin API's services: admin keys (made on the command line, hashed in Redis, scoped) and the user
operations they authorize (list, read, create, change, delete, sessions), each audited with the key's name."""

from services.admin.keys import KEY_BYTES, SCOPES, AdminKey, AdminKeyError, AdminKeys, admin_key_secret
from services.admin.keys import PREFIX as ADMIN_KEY_PREFIX
from services.admin.users import AdminUsers, NewUser, SecondFactorReset, UserChanges

__all__ = ["ADMIN_KEY_PREFIX", "KEY_BYTES", "SCOPES", "AdminKey", "AdminKeyError", "AdminKeys", "AdminUsers",
           "NewUser", "SecondFactorReset", "UserChanges", "admin_key_secret"]
