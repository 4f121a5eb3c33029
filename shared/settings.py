"""Settings read from the environment, one pydantic model for every service.

The names match the environment variables set in each service's `.chalice/config.json` and by the
local stack (`infra/local_stack.py`). Resource names, not URLs or ARNs: those depend on the partition
and region and are resolved at run time.
"""

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    cases_table: str = "hotspot-cases"
    idempotency_table: str = "hotspot-idempotency"
    raw_bucket: str = "hotspot-raw"
    reports_bucket: str = "hotspot-reports"
    intake_queue: str = "hotspot-intake"
    events_queue: str = "hotspot-events"
    notify_queue: str = "hotspot-notify"

    # Prefix of tracking numbers given to complainants, e.g. ZF261127123456.
    tracking_prefix: str = "ZF"
    # Largest request body accepted by the public intake API.
    max_body_bytes: int = 1024 * 1024
    # How long an Idempotency-Key is remembered.
    idempotency_ttl_seconds: int = 24 * 3600
    # A complaint still unrouted this long after it was stored is re-enqueued by the sweeper.
    sweep_after_seconds: int = Field(default=300, ge=0)
    # How far back the reminder run looks for cases still overdue (one index query per day).
    reminder_lookback_days: int = Field(default=90, ge=1)
    # Lifetime of the presigned report download links.
    report_url_seconds: int = 3600
    # Key of the hash that links complaints from the same phone or email without storing it in an index.
    # Set a secret value per deployment; the default only suits the local stack.
    contact_hash_key: str = "local-contact-hash-key"
    # Rate limits (per hour): submissions per client IP and per phone number, status lookups per client IP,
    # and wrong codes per tracking number (so that lookups cannot be used to guess codes).
    submissions_per_ip_per_hour: int = 30
    submissions_per_phone_per_hour: int = 10
    lookups_per_ip_per_hour: int = 120
    failed_lookups_per_number_per_hour: int = 10
    # Which SMS service sends notifications: only SNS exists so far (see DESIGN.md, section 2).
    sms_provider: str = "sns"


@cache
def get_settings() -> Settings:
    return Settings()
