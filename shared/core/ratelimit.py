"""Rate limits per client IP and per phone number, counted in DynamoDB and expiring through TTL.

Subjects are hashed before they are stored: an IP address or a phone number is personal data.
"""

import hashlib
from datetime import datetime

from shared.core.dal.idempotency import RateLimitStore
from shared.core.errors import ApiError
from shared.core.observability import count, logger
from shared.core.settings import Settings


def allow(settings: Settings, scope: str, subject: str, limit: int, window_seconds: int, now: datetime) -> bool:
    """Count one attempt of `subject` in `scope`; False once it has made `limit` in the current window."""
    return RateLimitStore(settings).hit(*_counter(settings, scope, subject, limit, window_seconds, now))


def count_write(settings: Settings, scope: str, subject: str, limit: int, window_seconds: int, now: datetime) -> dict:
    """`allow` as a transaction write: the transaction fails its condition once the subject has made `limit`."""
    return RateLimitStore(settings).hit_write(*_counter(settings, scope, subject, limit, window_seconds, now))


def _counter(
    settings: Settings, scope: str, subject: str, limit: int, window_seconds: int, now: datetime
) -> tuple[str, int, int]:
    """The counter's key, the limit and when the counter expires."""
    window_start = int(now.timestamp()) // window_seconds * window_seconds
    digest = hashlib.sha256(f"{settings.contact_hash_key}:{subject}".encode()).hexdigest()[:32]
    return f"rate:{scope}:{window_start}:{digest}", limit, window_start + 2 * window_seconds


def enforce(settings: Settings, scope: str, subject: str, limit: int, window_seconds: int, now: datetime) -> None:
    """Raise a 429 with a Chinese message when the subject is over its limit."""
    if not allow(settings, scope, subject, limit, window_seconds, now):
        minutes = max(1, window_seconds // 60)
        raise ApiError(429, "too_many_requests", f"操作过于频繁，请 {minutes} 分钟后再试")


def admit(
    settings: Settings, scope: str, subject: str, limit: int, body: bytes, now: datetime, window_seconds: int = 3600
) -> None:
    """The cheap checks an inbound request passes before anything of it is stored: the sender's rate, then the
    body's size. A refusal is logged (the scope and code, to count) and raised; the body is not archived, so that a
    flood costs the sender, not our storage."""
    try:
        enforce(settings, scope, subject, limit, window_seconds, now)
        if len(body) > settings.max_body_bytes:
            raise ApiError(413, "payload_too_large", f"提交的内容超过 {settings.max_body_bytes // 1024} KB 上限")
    except ApiError as error:
        refused(scope, error.code)
        raise


def refused(scope: str, code: str) -> None:
    """One inbound request refused before it was stored: logged and counted (metric InboundRefused), never kept."""
    logger.info("inbound refused unstored", extra={"scope": scope, "code": code})
    count("InboundRefused", scope=scope)
