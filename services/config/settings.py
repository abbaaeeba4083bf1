"""The one typed configuration object: `config.yaml`, then environment variables, then validation.

Every setting has the same name in `config.yaml` and in the environment (`APP_NAME`, `REDIS_URL`, ...),
so a deployment overrides any of them without editing the file. A bad value stops the server at start
with a message that names the setting, instead of failing later on a request.

Here: which settings exist, their defaults, and the values the server can run with. How a written value
becomes a typed one is services/config_values.py, whose `ConfigError` and `Rate` callers import from here.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from services.config.networks import parse_networks
from services.config.providers import ProviderConfig
from services.config.values import ConfigError, Rate, coerce, read_yaml_settings

SIGNING_ALGORITHMS = ("RS256", "ES256", "EdDSA")
STORAGE_BACKENDS = ("local", "s3")
MAX_PRESIGN_SECONDS = 604_800  # SigV4 presigned URLs live at most 7 days
# Pillow refuses images over twice this many pixels as decompression bombs; ours must stay below its own guard.
PILLOW_BOMB_PIXELS = 89_478_485
MAIL_BACKENDS = ("console", "smtp", "mailgun")
SMTP_SECURITY = ("starttls", "tls", "none")
READ_PREFERENCES = ("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")
LOG_FORMATS = ("text", "json")
# Who may read /metrics and the readiness details by default: this host and private networks (RFC 1918, RFC 4193).
PRIVATE_NETWORKS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


@dataclass(frozen=True)
class Config:
    # What the API reports about itself (the seed's APP_* settings).
    app_name: str = "Python JWT Auth"
    app_version: str = "0.0.1"
    app_logo_url: str = "https://placehold.it/350x150"
    app_url: str = "http://localhost:8080/"

    # Where the server listens.
    host: str = "127.0.0.1"
    port: int = 8080

    # Tokens (the seed's JWT_* settings). JWT_KEYS is the folder of `<kid>.key` + `<kid>.pub` pairs.
    jwt_header_name: str = "python-auth"
    jwt_header_type: str = "Bearer"
    jwt_algorithm: str = "RS256"
    jwt_keys: str = "keys"
    jwt_signing_kid: str = ""
    jwt_keys_reload_seconds: float = 2.0
    jwt_keys_auto_generate: bool = True
    jwt_audience: str = "python-jwt-auth"
    jwt_issuer: str = "localhost"
    jwt_access_token_lifetime: int = 900
    jwt_refresh_token_lifetime: int = 2_592_000
    jwt_leeway: int = 0

    # Accounts and passwords.
    disable_signup: bool = False
    password_min_length: int = 8
    password_max_length: int = 1024
    bcrypt_cost: int = 12

    # Abuse protection: quotas per client IP, failed logins per account (see README "Rate limits").
    trusted_proxies: tuple[str, ...] = ()
    rate_limit_signup: Rate = Rate(30, 300)
    rate_limit_token: Rate = Rate(150, 300)
    rate_limit_login_failures: Rate = Rate(10, 900)
    login_lock_base_seconds: int = 30
    rate_limit_mail: Rate = Rate(20, 3600)
    rate_limit_mail_address: Rate = Rate(5, 3600)

    # Email verification and password reset (links are valid this many seconds).
    email_verification_required: bool = False
    email_verification_lifetime: int = 86_400
    password_reset_lifetime: int = 3600

    # Mail delivery: `console` prints mails (development), `smtp` or `mailgun` sends them.
    mail_backend: str = "console"
    mail_from: str = "no-reply@localhost"
    mail_send_timeout_seconds: float = 30.0
    mail_max_attempts: int = 10
    mail_retry_base_seconds: float = 30.0
    mail_retry_max_seconds: float = 3600.0
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    mailgun_api_key: str = ""
    mailgun_domain: str = ""
    mailgun_base_url: str = "https://api.mailgun.net/v3"

    # Requests.
    max_content_length: int = 8 * 1024 * 1024
    cors_origins: tuple[str, ...] = ()
    upload_folder: str = "uploads"

    # Profile pictures: re-encoded by Pillow, stored in UPLOAD_FOLDER (served by this server) or S3 / Spaces.
    picture_max_edge: int = 512
    picture_max_pixels: int = 50_000_000
    storage_backend: str = "local"
    storage_timeout_seconds: float = 5.0
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_endpoint_url: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = field(default="", repr=False)
    s3_public_url: str = ""
    s3_url_lifetime: int = 3600
    s3_object_acl: str = ""

    # Storage. Empty URLs select the embedded default: in-memory MongoDB and a Redis the server starts.
    mongo_url: str = ""
    mongo_database: str = "python_jwt_auth"
    redis_url: str = ""
    redis_timeout_seconds: float = 1.0
    data_dir: str = "data"
    unavailable_retry_after: int = 5

    # Social logins (README "Social logins"): providers, where browsers may be sent back, outbound limits.
    social_providers: tuple[ProviderConfig, ...] = ()
    social_redirect_allowlist: tuple[str, ...] = ()
    social_http_timeout_seconds: float = 5.0
    social_state_ttl_seconds: int = 600
    social_jwks_refetch_seconds: float = 60.0
    social_token_leeway: int = 60

    log_level: str = "INFO"

    # Running many processes and machines (README "Deployment").
    processes: int = 1
    shutdown_timeout_seconds: float = 20.0
    mongo_write_concern: str = ""
    mongo_read_preference: str = "primary"

    # Operations (README "Operations"): health and readiness probes, Prometheus metrics, log format.
    log_format: str = "text"
    metrics_enabled: bool = True
    metrics_dir: str = ""
    metrics_allowed_networks: tuple[str, ...] = PRIVATE_NETWORKS
    readiness_timeout_seconds: float = 1.0

    # Stopping behind a load balancer and slow replica sets (README "Deployment").
    shutdown_delay_seconds: float = 0.0
    mongo_write_timeout_seconds: float = 0.0

    def __post_init__(self) -> None:
        self._check_operations()
        _check(self.jwt_algorithm in SIGNING_ALGORITHMS, "JWT_ALGORITHM",
               f"must be one of {', '.join(SIGNING_ALGORITHMS)}")
        _check(bool(self.jwt_header_name.strip()), "JWT_HEADER_NAME", "must not be empty")
        _check(bool(self.jwt_audience), "JWT_AUDIENCE", "must not be empty")
        _check(bool(self.jwt_issuer), "JWT_ISSUER", "must not be empty")
        _check(1 <= self.port <= 65535 or self.port == 0, "PORT", "must be between 0 and 65535")
        _check(self.jwt_access_token_lifetime > 0, "JWT_ACCESS_TOKEN_LIFETIME", "must be positive")
        _check(self.jwt_refresh_token_lifetime > self.jwt_access_token_lifetime,
               "JWT_REFRESH_TOKEN_LIFETIME", "must be longer than JWT_ACCESS_TOKEN_LIFETIME")
        _check(0 <= self.jwt_leeway <= 300, "JWT_LEEWAY", "must be between 0 and 300 seconds")
        _check(self.jwt_keys_reload_seconds > 0, "JWT_KEYS_RELOAD_SECONDS", "must be positive")
        _check(4 <= self.bcrypt_cost <= 31, "BCRYPT_COST", "must be between 4 and 31")
        _check(self.password_min_length >= 1, "PASSWORD_MIN_LENGTH", "must be at least 1")
        # OWASP ASVS 2.1.2: at least 64 characters must be accepted.
        _check(self.password_max_length >= max(64, self.password_min_length), "PASSWORD_MAX_LENGTH",
               "must be at least 64 and at least PASSWORD_MIN_LENGTH")
        _check(self.max_content_length >= 1024, "MAX_CONTENT_LENGTH", "must be at least 1024 bytes")
        _check(self.redis_timeout_seconds > 0, "REDIS_TIMEOUT_SECONDS", "must be positive")
        _check(self.unavailable_retry_after >= 1, "UNAVAILABLE_RETRY_AFTER", "must be at least 1")
        _check(self.login_lock_base_seconds >= 1, "LOGIN_LOCK_BASE_SECONDS", "must be at least 1")
        _check(16 <= self.picture_max_edge <= 4096, "PICTURE_MAX_EDGE", "must be between 16 and 4096 pixels")
        _check(1 <= self.picture_max_pixels <= PILLOW_BOMB_PIXELS, "PICTURE_MAX_PIXELS",
               f"must be between 1 and {PILLOW_BOMB_PIXELS}")
        self._check_storage()
        _check(_is_http_url(self.app_url), "APP_URL", "must be an absolute http:// or https:// URL")
        self._check_mail()
        _check(self.social_http_timeout_seconds > 0, "SOCIAL_HTTP_TIMEOUT_SECONDS", "must be positive")
        _check(30 <= self.social_state_ttl_seconds <= 3600, "SOCIAL_STATE_TTL_SECONDS",
               "must be between 30 and 3600 seconds")
        _check(self.social_jwks_refetch_seconds >= 0, "SOCIAL_JWKS_REFETCH_SECONDS", "must not be negative")
        _check(0 <= self.social_token_leeway <= 300, "SOCIAL_TOKEN_LEEWAY", "must be between 0 and 300 seconds")
        _check(all(url.startswith(("https://", "http://")) for url in self.social_redirect_allowlist),
               "SOCIAL_REDIRECT_ALLOWLIST", "must hold absolute http(s) URLs")
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"setting TRUSTED_PROXIES {exc}") from None
        _check(self.log_level.upper() in {"DEBUG", "INFO", "WARNING", "ERROR"}, "LOG_LEVEL",
               "must be DEBUG, INFO, WARNING or ERROR")
        self._check_deployment()
        self._check_draining_and_write_timeout()

    def _check_deployment(self) -> None:
        _check(self.processes >= 0, "PROCESSES", "must be 0 (one per CPU core) or more")
        # mongomock lives in one process's memory: a second process would have users of its own.
        _check(self.processes == 1 or not self.embedded_mongo, "PROCESSES",
               "above 1 needs MONGO_URL: the embedded MongoDB lives in one process's memory, so each process "
               "would have users of its own; set MONGO_URL=mongodb://host:27017/dbname (or PROCESSES=1)")
        _check(self.shutdown_timeout_seconds > 0, "SHUTDOWN_TIMEOUT_SECONDS", "must be positive")
        concern = self.mongo_write_concern
        _check(concern in ("", "majority") or (concern.isdigit() and int(concern) <= 50), "MONGO_WRITE_CONCERN",
               "must be empty (the server's default), majority, or a number of members like 1 or 2")
        _check(self.mongo_read_preference in READ_PREFERENCES, "MONGO_READ_PREFERENCE",
               f"must be one of {', '.join(READ_PREFERENCES)}")

    def _check_draining_and_write_timeout(self) -> None:
        _check(self.shutdown_delay_seconds >= 0, "SHUTDOWN_DELAY_SECONDS", "must not be negative")
        _check(self.mongo_write_timeout_seconds >= 0, "MONGO_WRITE_TIMEOUT_SECONDS", "must not be negative")
        if self.mongo_write_timeout_seconds > 0:
            # wtimeout bounds the wait for the write concern's members: without one named here there is nothing
            # this server knows it bounds, and unacknowledged writes (w=0) wait for nobody.
            concern = self.mongo_write_concern or _url_write_concern(self.mongo_url)
            _check(concern not in ("", "0"), "MONGO_WRITE_TIMEOUT_SECONDS",
                   "needs a write concern that waits for members: set MONGO_WRITE_CONCERN (majority, or a number "
                   "of members above 0) or w= in MONGO_URL, or set MONGO_WRITE_TIMEOUT_SECONDS to 0")

    def _check_storage(self) -> None:
        _check(self.storage_backend in STORAGE_BACKENDS, "STORAGE_BACKEND",
               f"must be one of {', '.join(STORAGE_BACKENDS)}")
        _check(self.storage_timeout_seconds > 0, "STORAGE_TIMEOUT_SECONDS", "must be positive")
        _check(bool(self.upload_folder.strip()), "UPLOAD_FOLDER", "must not be empty")
        if self.storage_backend == "s3":
            _check(bool(self.s3_bucket), "S3_BUCKET", "must be set when STORAGE_BACKEND is s3")
        _check(bool(self.s3_access_key_id) == bool(self.s3_secret_access_key), "S3_SECRET_ACCESS_KEY",
               "and S3_ACCESS_KEY_ID must be set together (or both left empty for the default credential chain)")
        for name in ("s3_endpoint_url", "s3_public_url"):
            value = getattr(self, name)
            _check(not value or value.startswith(("https://", "http://")), name.upper(),
                   "must be an http:// or https:// URL")
        _check(1 <= self.s3_url_lifetime <= MAX_PRESIGN_SECONDS, "S3_URL_LIFETIME",
               f"must be between 1 and {MAX_PRESIGN_SECONDS} seconds")

    def _check_mail(self) -> None:
        _check(self.email_verification_lifetime >= 60, "EMAIL_VERIFICATION_LIFETIME", "must be at least 60 seconds")
        _check(self.password_reset_lifetime >= 60, "PASSWORD_RESET_LIFETIME", "must be at least 60 seconds")
        _check(self.mail_backend in MAIL_BACKENDS, "MAIL_BACKEND", f"must be one of {', '.join(MAIL_BACKENDS)}")
        _check("@" in self.mail_from and "\n" not in self.mail_from, "MAIL_FROM", "must be an email address")
        _check(self.mail_send_timeout_seconds > 0, "MAIL_SEND_TIMEOUT_SECONDS", "must be positive")
        _check(self.mail_max_attempts >= 1, "MAIL_MAX_ATTEMPTS", "must be at least 1")
        _check(self.mail_retry_base_seconds > 0, "MAIL_RETRY_BASE_SECONDS", "must be positive")
        _check(self.mail_retry_max_seconds >= self.mail_retry_base_seconds, "MAIL_RETRY_MAX_SECONDS",
               "must be at least MAIL_RETRY_BASE_SECONDS")
        _check(self.smtp_security in SMTP_SECURITY, "SMTP_SECURITY", f"must be one of {', '.join(SMTP_SECURITY)}")
        _check(1 <= self.smtp_port <= 65535, "SMTP_PORT", "must be between 1 and 65535")
        if self.mail_backend == "smtp":
            _check(bool(self.smtp_host.strip()), "SMTP_HOST", "must be set when MAIL_BACKEND is smtp")
        if self.mail_backend == "mailgun":
            _check(bool(self.mailgun_api_key), "MAILGUN_API_KEY", "must be set when MAIL_BACKEND is mailgun")
            _check(bool(self.mailgun_domain.strip()), "MAILGUN_DOMAIN", "must be set when MAIL_BACKEND is mailgun")
        _check(_is_http_url(self.mailgun_base_url), "MAILGUN_BASE_URL", "must be an absolute http(s) URL")

    def _check_operations(self) -> None:
        _check(self.log_format in LOG_FORMATS, "LOG_FORMAT", f"must be one of {', '.join(LOG_FORMATS)}")
        _check(self.readiness_timeout_seconds > 0, "READINESS_TIMEOUT_SECONDS", "must be positive")
        try:
            parse_networks(self.metrics_allowed_networks)
        except ValueError as exc:
            raise ConfigError(f"setting METRICS_ALLOWED_NETWORKS: {exc}") from None

    @property
    def metrics_path(self) -> Path:
        """Where every process of this server writes its metrics: METRICS_DIR, else DATA_DIR/metrics."""
        return Path(self.metrics_dir or Path(self.data_dir) / "metrics")

    @property
    def mail_lease_seconds(self) -> float:
        """How long a worker owns a message it took: past it, another worker retries (a crash mid-send)."""
        return 2 * self.mail_send_timeout_seconds + 5

    def provider(self, name: str) -> ProviderConfig | None:
        return next((p for p in self.social_providers if p.name == name), None)

    @property
    def embedded_mongo(self) -> bool:
        return not self.mongo_url

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url


def setting_names() -> list[str]:
    """Every setting's name as written in `config.yaml` and the environment."""
    return [f.name.upper() for f in dataclasses.fields(Config)]


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


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _url_write_concern(mongo_url: str) -> str:
    """The `w=` option of a MongoDB URL ("" without one); its other options are the driver's business."""
    options = parse_qs(urlsplit(mongo_url).query)
    return options.get("w", [""])[-1]


def _check(ok: bool, name: str, problem: str) -> None:
    if not ok:
        raise ConfigError(f"setting {name} {problem}")
