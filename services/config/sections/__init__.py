"""The settings by domain: one frozen dataclass each, its fields' defaults and help, and its own checks.

`Config` (services/config/settings.py) is their union, in the order below: it is also the order of
`config.yaml` and of `docs/configuration.md`.
"""

from services.config.sections.accounts import AccountSettings
from services.config.sections.admin import AdminSettings
from services.config.sections.captcha import CaptchaSettings
from services.config.sections.hooks import HookSettings
from services.config.sections.limits import LimitSettings
from services.config.sections.mail import MailSettings
from services.config.sections.mfa import MfaSettings
from services.config.sections.operations import PRIVATE_NETWORKS, OperationSettings
from services.config.sections.passwordless import PasswordlessSettings
from services.config.sections.pictures import MAX_PRESIGN_SECONDS, PILLOW_BOMB_PIXELS, PictureSettings
from services.config.sections.resource_servers import ResourceServerSettings
from services.config.sections.server import ServerSettings
from services.config.sections.social import SocialSettings
from services.config.sections.stores import StoreSettings
from services.config.sections.tokens import SIGNING_ALGORITHMS, TokenSettings

__all__ = ["MAX_PRESIGN_SECONDS", "PILLOW_BOMB_PIXELS", "PRIVATE_NETWORKS", "SIGNING_ALGORITHMS", "AccountSettings",
           "AdminSettings", "CaptchaSettings", "HookSettings", "LimitSettings", "MailSettings", "MfaSettings",
           "OperationSettings", "PasswordlessSettings", "PictureSettings", "ResourceServerSettings", "ServerSettings",
           "SocialSettings", "StoreSettings", "TokenSettings"]
