"""Configuration: the one typed `Config`, read from `config.yaml`, then the environment, then checked.

`sections/` says which settings exist, by domain (each with its default, its help text and its checks);
`settings.py` joins them into `Config` and loads it; `setting.py` is how a setting is declared; `values.py`
turns one written value into its type; `providers.py` and `networks.py` parse the two settings that are
structures of their own; `urls.py` is the one normal form of a URL that settings and requests are compared in;
`docs.py` writes `config.yaml` and `docs/configuration.md` from the help text (`python -m services.config.docs`).
"""

from services.config.hooks import HOOK_NAMES, WEBHOOK_EVENTS, HookConfig, WebhookConfig
from services.config.networks import Network, parse_networks
from services.config.providers import PROVIDER_NAME, ProviderConfig, load_signing_key, parse_providers
from services.config.sections import MAX_PRESIGN_SECONDS, PILLOW_BOMB_PIXELS, PRIVATE_NETWORKS, SIGNING_ALGORITHMS
from services.config.settings import Config, load_config, sections, setting_names
from services.config.urls import normalized_url
from services.config.values import ConfigError, Rate

__all__ = [
           "HOOK_NAMES",
           "MAX_PRESIGN_SECONDS",
           "PILLOW_BOMB_PIXELS",
           "PRIVATE_NETWORKS",
           "PROVIDER_NAME",
           "SIGNING_ALGORITHMS",
           "WEBHOOK_EVENTS",
           "Config",
           "ConfigError",
           "HookConfig",
           "Network",
           "ProviderConfig",
           "Rate",
           "WebhookConfig",
           "load_config",
           "load_signing_key",
           "normalized_url",
           "parse_networks",
           "parse_providers",
           "sections",
           "setting_names",
]
