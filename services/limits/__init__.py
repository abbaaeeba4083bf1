"""Limits: request quotas per client network and the failed-login lock per account, in Redis, shared by every
process; and which address a request really came from."""

from services.limits.client_addresses import ClientAddressResolver
from services.limits.limiter import Decision, RateLimiter
from services.limits.throttle import QuotaName, Throttle, UserQuotaName

__all__ = ["ClientAddressResolver", "Decision", "QuotaName", "RateLimiter", "Throttle", "UserQuotaName"]
