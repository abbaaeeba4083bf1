"""Accounts: signing up, logging in with a password, changing name, email or password, verifying the address,
resetting a forgotten password, what proving an address ends, and the account's lifecycle (export, disable,
delete)."""

from services.accounts.email_change import EmailChange
from services.accounts.imported_hashes import UnsupportedHash, check_imported, verify_imported
from services.accounts.lifecycle import AccountLifecycle
from services.accounts.login import PasswordLogin
from services.accounts.passwords import PasswordHasher, PasswordPolicy, common_passwords, normalize_password
from services.accounts.proof import AddressProof
from services.accounts.recovery import PasswordReset
from services.accounts.service import AccountService
from services.accounts.verification import EmailVerification

__all__ = ["AccountLifecycle", "AccountService", "AddressProof", "EmailChange", "EmailVerification", "PasswordHasher",
           "PasswordLogin", "PasswordPolicy", "PasswordReset", "UnsupportedHash", "check_imported", "common_passwords",
           "normalize_password", "verify_imported"]
