"""Configuration: the one typed `Config`, read from `config.yaml`, then the environment, then checked.

`settings.py` says which settings exist (each with its help text) and which combinations the server can run
with; `values.py` turns one written value into its type; `providers.py` and `networks.py` parse the two
settings that are structures of their own.
"""

from services.config.networks import Network, parse_networks
from services.config.providers import PROVIDER_NAME, ProviderConfig, load_signing_key, parse_providers
from services.config.settings import (
    MAX_PRESIGN_SECONDS,
    PILLOW_BOMB_PIXELS,
    PRIVATE_NETWORKS,
    SIGNING_ALGORITHMS,
    Config,
    load_config,
    setting_names,
)
from services.config.values import ConfigError, Rate

__all__ = ["MAX_PRESIGN_SECONDS", "PILLOW_BOMB_PIXELS", "PRIVATE_NETWORKS", "PROVIDER_NAME", "SIGNING_ALGORITHMS",
           "Config", "ConfigError", "Network", "ProviderConfig", "Rate", "load_config", "load_signing_key",
           "parse_networks", "parse_providers", "setting_names"]
