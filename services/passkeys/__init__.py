"""Passkeys: registering them to an account, listing and removing them, signing in with one (discoverable, or
for an address, without telling whether it has an account), and the documents native apps need (Apple's
apple-app-site-association, Android's assetlinks.json).

Kept apart from services/mfa, which holds every factor's record and the WebAuthn relying party: a passkey is also a
way to sign in, and these are the operations of that side.
"""

from services.passkeys.apps import apple_app_site_association, asset_links
from services.passkeys.service import PasskeyService

__all__ = ["PasskeyService", "apple_app_site_association", "asset_links"]
