"""Rate limits per client IP and per phone number, counted in DynamoDB and expiring through TTL.

Subjects are hashed before they are stored: an IP address or a phone number is personal data.
"""

import hashlib
from datetime import datetime

from shared.core.dal.idempotency import RateLimitStore
from shared.core.errors import ApiError
from shared.core.settings import Settings


def allow(settings: Settings, scope: str, subject: str, limit: int, window_seconds: int, now: datetime) -> bool:
    """Count one attempt of `subject` in `scope`; False once it has made `limit` in the current window."""
    window_start = int(now.timestamp()) // window_seconds * window_seconds
    digest = hashlib.sha256(f"{settings.contact_hash_key}:{subject}".encode()).hexdigest()[:32]
    return RateLimitStore(settings).hit(
        f"rate:{scope}:{window_start}:{digest}", limit, expires_at=window_start + 2 * window_seconds
    )


def enforce(settings: Settings, scope: str, subject: str, limit: int, window_seconds: int, now: datetime) -> None:
    """Raise a 429 with a Chinese message when the subject is over its limit."""
    if not allow(settings, scope, subject, limit, window_seconds, now):
        minutes = max(1, window_seconds // 60)
        raise ApiError(429, "too_many_requests", f"操作过于频繁，请 {minutes} 分钟后再试")
