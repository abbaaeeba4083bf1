"""Limits: request quotas per client network and the failed-login counts per account and network, in Redis,
shared by every process; which address a request really came from; and the seam a CAPTCHA will plug into."""

from services.limits.challenge import LockChallenge, RefuseLockedLogins
from services.limits.client_addresses import ClientAddressResolver
from services.limits.limiter import Decision, RateLimiter
from services.limits.login_failures import LoginFailures, LoginLock, Reservation
from services.limits.networks import client_network
from services.limits.throttle import QuotaName, SubjectQuotaName, Throttle, UserQuotaName

__all__ = ["ClientAddressResolver", "Decision", "LockChallenge", "LoginFailures", "LoginLock", "QuotaName",
           "RateLimiter", "RefuseLockedLogins", "Reservation", "SubjectQuotaName", "Throttle", "UserQuotaName",
           "client_network"]
