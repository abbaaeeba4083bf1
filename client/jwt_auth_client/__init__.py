"""Accept the access tokens of a Python JWT Auth server in your own APIs, with instant revocation.

    verifier = TokenVerifier(issuer, audience, jwks_url)     # signature and claims, as the server checks them
    guard = AsyncGuard(verifier, revocation=AsyncRedisRevocation.from_url(redis_url))   # or introspection

The integrations live in `jwt_auth_client.tornado`, `jwt_auth_client.starlette` (also FastAPI) and
`jwt_auth_client.flask`; each needs its framework, nothing here does. See README.md.
"""

from jwt_auth_client.errors import AuthError, Refusal
from jwt_auth_client.guard import AsyncGuard, Guard, bearer_token
from jwt_auth_client.introspection import AsyncIntrospectionRevocation, IntrospectionRevocation
from jwt_auth_client.jwks import JwksCache
from jwt_auth_client.metadata import ServerMetadata, discover
from jwt_auth_client.redis_mode import LAYOUT_VERSION, AsyncRedisRevocation, RedisLayout, RedisRevocation
from jwt_auth_client.requirements import Requirement, require_aal, require_fresh, require_role
from jwt_auth_client.revocation import AsyncRevocationCheck, RevocationCheck
from jwt_auth_client.token import VerifiedToken
from jwt_auth_client.verifier import TokenVerifier

__version__ = "0.1.0"

__all__ = ["LAYOUT_VERSION", "AsyncGuard", "AsyncIntrospectionRevocation", "AsyncRedisRevocation",
           "AsyncRevocationCheck", "AuthError", "Guard", "IntrospectionRevocation", "JwksCache", "RedisLayout",
           "RedisRevocation", "Refusal", "Requirement", "RevocationCheck", "ServerMetadata", "TokenVerifier",
           "VerifiedToken", "bearer_token", "discover", "require_aal", "require_fresh", "require_role"]
