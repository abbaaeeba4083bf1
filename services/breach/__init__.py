"""Breached passwords: the Pwned Passwords range API with k-anonymity, behind the password policy of
services/accounts (sign-up, password change and reset), cached, with a timeout and a fail-open rule.

A package of its own rather than part of accounts: it is an outbound integration (HTTP, its cache, what an outage
means) that the password policy only consults through the `BreachCheck` seam."""

from services.breach.pwned import BreachCheck, NoBreachCheck, PwnedPasswords

__all__ = ["BreachCheck", "NoBreachCheck", "PwnedPasswords"]
