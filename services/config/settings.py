"""The one typed configuration object: `config.yaml`, then environment variables, then validation.

Every setting has the same name in `config.yaml` and in the environment (`APP_NAME`, `REDIS_URL`, ...),
so a deployment overrides any of them without editing the file. A bad value stops the server at start
with a message that names the setting, instead of failing later on a request.

The settings themselves, their help text and their checks live by domain in `sections/`; `Config` is their
union with flat attributes (`config.jwt_issuer`), plus the few checks that need two sections. How a written
value becomes a typed one is `values.py`.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.config.sections import (
    AccountSettings,
    AdminSettings,
    CaptchaSettings,
    HookSettings,
    LimitSettings,
    MailSettings,
    MfaSettings,
    OperationSettings,
    PasswordlessSettings,
    PictureSettings,
    ResourceServerSettings,
    ServerSettings,
    SocialSettings,
    StoreSettings,
    TokenSettings,
)
from services.config.setting import Section, check
from services.config.values import coerce, read_yaml_settings


@dataclass(frozen=True)
class Config(ServerSettings, TokenSettings, AccountSettings, LimitSettings, MailSettings, PictureSettings,
             SocialSettings, MfaSettings, StoreSettings, OperationSettings, PasswordlessSettings, CaptchaSettings,
             AdminSettings, HookSettings, ResourceServerSettings):
    """Every setting, as one frozen object: each section checks its own settings, then the checks across them."""

    def __post_init__(self) -> None:
        for section in sections():
            section.__post_init__(self)
        # mongomock lives in one process's memory: a second process would have users of its own.
        check(self.processes == 1 or not self.embedded_mongo, "PROCESSES",
              "above 1 needs MONGO_URL: the embedded MongoDB lives in one process's memory, so each process "
              "would have users of its own; set MONGO_URL=mongodb://host:27017/dbname (or PROCESSES=1)")

    @property
    def metrics_path(self) -> Path:
        """Where every process of this server writes its metrics: METRICS_DIR, else DATA_DIR/metrics."""
        return Path(self.metrics_dir or Path(self.data_dir) / "metrics")


def sections() -> tuple[type[Section], ...]:
    """The settings' sections in reading order: `config.yaml` and `docs/configuration.md` follow it."""
    return typing.cast("tuple[type[Section], ...]", Config.__bases__)


def setting_names() -> list[str]:
    """Every setting's name as written in `config.yaml` and the environment, in reading order."""
    return [f.name.upper() for section in sections() for f in dataclasses.fields(section)]


def load_config(path: str | Path | None = "config.yaml", environ: Mapping[str, str] | None = None,
                **overrides: object) -> Config:
    """Build the config from the YAML file (optional), then the environment, then keyword overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    names = setting_names()
    if path is not None and Path(path).exists():
        values.update(read_yaml_settings(Path(path), set(names)))
    for name in names:
        if name in environ:
            values[name] = environ[name]
    values.update({key.upper(): value for key, value in overrides.items()})
    hints = typing.get_type_hints(Config)
    kwargs = {name.lower(): coerce(name, value, hints[name.lower()]) for name, value in values.items()}
    return Config(**kwargs)  # type: ignore[arg-type]
