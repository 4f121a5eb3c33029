"""Rate limits per client IP and per phone number, counted in DynamoDB and expiring through TTL.

Subjects are hashed before they are stored: an IP address or a phone number is personal data.

A phone number's limits (texts by SMS, complaints filed by any channel) are counters of ONE item per number and
hour (`number_key`), so that a text filed as a complaint counts against both in one transaction write.

A complaint channel's request is admitted with an `Admission`: its sender's counters are written in the
transaction that stores what it sent, so that admitting it costs no request of its own.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.core import identity
from shared.core.dal.idempotency import RateLimitStore
from shared.core.dal.items import write_if
from shared.core.errors import ApiError
from shared.core.observability import count, logger
from shared.core.settings import Settings

# Every limit of a sender counts an hour.
WINDOW_SECONDS = 3600


class NumberCounter(StrEnum):
    """The counters of a phone number's item: texts received by SMS, complaints filed (any channel)."""

    texts = "texts"
    complaints = "complaints"


def allow(settings: Settings, scope: str, subject: str, limit: int, window_seconds: int, now: datetime) -> bool:
    """Count one attempt of `subject` in `scope`; False once it has made `limit` in the current window."""
    key, expires_at = _counter(settings, scope, subject, window_seconds, now)
    return RateLimitStore(settings).hit(key, {"hits": limit}, expires_at)


def allow_number(settings: Settings, phone: str, counter: NumberCounter, limit: int, now: datetime) -> bool:
    """Count one on a phone number's counter; False once the number has made `limit` this hour."""
    key, expires_at = number_key(settings, phone, now)
    return RateLimitStore(settings).hit(key, {counter: limit}, expires_at)


def number_write(settings: Settings, phone: str, limits: dict[NumberCounter, int], now: datetime) -> dict:
    """One on each of a number's counters in `limits`, as one transaction write: the transaction fails its
    condition once the number has made the limit of one of them this hour."""
    key, expires_at = number_key(settings, phone, now)
    return RateLimitStore(settings).hit_write(
        key, {str(counter): limit for counter, limit in limits.items()}, expires_at
    )


def number_key(settings: Settings, phone: str, now: datetime) -> tuple[str, int]:
    """The counter item of a phone number (written as any channel writes it: normalised) and when it expires."""
    return _counter(settings, "number", identity.normalise_phone(phone), WINDOW_SECONDS, now)


def _counter(settings: Settings, scope: str, subject: str, window_seconds: int, now: datetime) -> tuple[str, int]:
    """The counter's key and when the counter expires."""
    window_start = int(now.timestamp()) // window_seconds * window_seconds
    digest = hashlib.sha256(f"{settings.contact_hash_key}:{subject}".encode()).hexdigest()[:32]
    return f"rate:{scope}:{window_start}:{digest}", window_start + 2 * window_seconds


def too_many(window_seconds: int) -> ApiError:
    minutes = max(1, window_seconds // 60)
    return ApiError(429, "too_many_requests", f"操作过于频繁，请 {minutes} 分钟后再试")


def enforce(settings: Settings, scope: str, subject: str, limit: int, window_seconds: int, now: datetime) -> None:
    """Raise a 429 with a Chinese message when the subject is over its limit."""
    if not allow(settings, scope, subject, limit, window_seconds, now):
        raise too_many(window_seconds)


def admit(
    settings: Settings, scope: str, subject: str, limit: int, body: bytes, now: datetime, window_seconds: int = 3600
) -> None:
    """The cheap checks an inbound request passes before anything of it is stored: the sender's rate, then the
    body's size. A refusal is logged (the scope and code, to count) and raised; the body is not archived, so that a
    flood costs the sender, not our storage."""
    try:
        enforce(settings, scope, subject, limit, window_seconds, now)
    except ApiError as error:
        refused(scope, error.code)
        raise
    check_size(settings, scope, body)


def check_size(settings: Settings, scope: str, body: bytes) -> None:
    """A body over the size limit is refused (413, logged) before anything of it is stored."""
    if len(body) > settings.max_body_bytes:
        refused(scope, "payload_too_large")
        raise ApiError(413, "payload_too_large", f"提交的内容超过 {settings.max_body_bytes // 1024} KB 上限")


class OverLimit(Exception):
    """A counter of a request's admission was at its limit: the transaction that was to store the request failed
    on it, and nothing of the request was stored."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"over the {scope} limit")
        self.scope = scope

    def refusal(self) -> ApiError:
        """The sender's 429, the refusal logged and counted (InboundRefused)."""
        refused(self.scope, "too_many_requests")
        return too_many(WINDOW_SECONDS)


@dataclass
class Admission:
    """A complaint channel's request, admitted past the size check: the hits on its sender's counters (its address;
    the phone number it gives), not yet written. They are written with the first transaction that stores something
    of the request (the complaint, or its quarantine entry), so that admitting it costs no request of its own. A
    counter at its limit fails that transaction; the caller then refuses the request (429) and deletes its archived
    payload (`shared.core.filing.refusing_over_limit`), so that a flood still costs our storage nothing."""

    counters: list[tuple[str, dict]] = field(default_factory=list)  # (scope, the counter's Update)
    counted: bool = False

    def pending(self) -> list[dict]:
        """The counters' writes for the transaction that stores the request; none once one has been written."""
        return [] if self.counted else [write for _, write in self.counters]

    def written(self) -> None:
        """The pending counters' writes went in a transaction that succeeded: nothing is pending any more."""
        self.counted = True

    def over(self, failed: tuple[int, ...], first: int) -> "OverLimit | None":
        """The refusal when a pending counter's write, standing from position `first` in a transaction, is among
        the `failed` positions."""
        scopes = [scope for index, (scope, _) in enumerate(self.counters, first) if index in failed]
        return OverLimit(scopes[0]) if scopes and not self.counted else None

    def count_apart(self) -> None:
        """Write the pending counters on their own, for a request whose first write is no transaction of ours (an
        SMS follow-up, query or rating); OverLimit at a counter's limit."""
        for scope, write in [] if self.counted else self.counters:
            if not write_if("update_item", **write["Update"]):
                raise OverLimit(scope)
        self.written()

    def add_number(self, settings: Settings, phone: str, limit: int, now: datetime) -> None:
        """Count the request as a complaint of `phone` too (the number's limit over every channel)."""
        self.counters.append(("submit-phone", number_write(settings, phone, {NumberCounter.complaints: limit}, now)))


def admission(settings: Settings, scope: str, subject: str, limit: int, body: bytes, now: datetime) -> Admission:
    """Past the size check, a request whose hit on `subject`'s counter in `scope` (an hour's window) is written
    with the request (`Admission`)."""
    check_size(settings, scope, body)
    key, expires_at = _counter(settings, scope, subject, WINDOW_SECONDS, now)
    return Admission([(scope, RateLimitStore(settings).hit_write(key, {"hits": limit}, expires_at))])


def refused(scope: str, code: str) -> None:
    """One inbound request refused before it was stored: logged and counted (metric InboundRefused), never kept."""
    logger.info("inbound refused unstored", extra={"scope": scope, "code": code})
    count("InboundRefused", scope=scope)
