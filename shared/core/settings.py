"""Settings read from the environment, one pydantic model for every service.

The names match the environment variables set by the CDK service stacks (`infra/cdk/service_stack.py`) and by
the local stack (`infra/local_stack.py`). Resource names, not URLs or ARNs: those depend on the partition
and region and are resolved at run time.

Secret settings (SECRET_SETTINGS) have defaults that suit the local stack only. Deployed, the environment names
a Secrets Manager secret for each (`<SETTING>_SECRET`) and `get_settings()` puts its value in, read at run time
and cached; on Lambda a function refuses to serve (SecretsNotConfigured) while any secret setting would keep its
local default, so nothing is ever stored or checked with a key everybody knows.
"""

import json
import os
from functools import cache
from typing import Any, get_origin

from pydantic import BaseModel, ConfigDict, Field

from shared.core import secrets
from shared.core.observability import logger

SECRET_SETTINGS = ("contact_hash_key", "sms_webhook_token", "twilio_auth_token")


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def __init__(self, **values: Any) -> None:
        # The environment variable of each setting (its name in any case), then the arguments: what pydantic-settings
        # does for these plain fields, without its import on every cold start. A list setting (alarm_phones) is JSON
        # there, as pydantic-settings reads it; pydantic converts the others from their text.
        environment = {name.lower(): value for name, value in os.environ.items()}
        found = {
            name: json.loads(environment[name]) if get_origin(field.annotation) is list else environment[name]
            for name, field in type(self).model_fields.items()
            if name in environment
        }
        super().__init__(**{**found, **values})

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
    # A claim on a delivery (a notice to one recipient) or on an idempotency key is a lease this long: longer than a
    # function may run (its timeout, 10 s), shorter than a queue's visibility timeout (60 s), so that the message
    # of an attempt that died comes back to find the lease over and takes it.
    delivery_lease_seconds: int = Field(default=30, ge=1)
    # A complaint still unrouted this long after it was stored is re-enqueued by the sweeper.
    sweep_after_seconds: int = Field(default=300, ge=0)
    # An outbox item (messages of a stored change, shared/core/outbox.py) still there this long is sent by the
    # sweeper.
    outbox_sweep_after_seconds: int = Field(default=60, ge=0)
    # How far back the reminder run looks for cases still overdue (one index query per day).
    reminder_lookback_days: int = Field(default=90, ge=1)
    # Days to move the campaign's dates of campaign.json by (phases, materials' due dates): `hotspot run
    # --campaign-now` sets it so that the sample campaign is running today, without editing the file.
    campaign_shift_days: int = 0
    # How long routing keeps using the classifier model it read before it looks at the pointer again
    # (shared/routing/learning.py): a model adopted or rolled back to is in use everywhere after this.
    classifier_pointer_seconds: int = Field(default=300, ge=0)
    # Lifetime of the presigned report download links.
    report_url_seconds: int = 900
    # The CJK font embedded in the phase summary PDF (shared/reporting/summary_pdf.py): an OpenType/TrueType file or
    # collection, and the face of a collection with the Simplified Chinese glyph forms (2 in Debian's Noto CJK
    # TTCs; other faces print Japanese or traditional forms). A relative path is taken from the directory that
    # holds the `shared` package: `make synth` puts the font at fonts/<file name> in the reporting Lambda's zip
    # (infra/package.py) and sets the path to it.
    report_font_path: str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
    report_font_index: int = Field(default=2, ge=0)
    # Lifetime of the console's links to a quarantined raw payload (personal data: short).
    quarantine_url_seconds: int = Field(default=300, ge=1, le=3600)
    # Key of the hash that links complaints from the same phone or email without storing it in an index.
    # The default only suits the local stack: deployed, the secret named by CONTACT_HASH_KEY_SECRET gives it.
    contact_hash_key: str = "local-contact-hash-key"
    contact_hash_key_secret: str = ""
    # Rate limits (per hour): submissions per client IP and per phone number, status lookups per client IP,
    # and wrong codes per tracking number (so that lookups cannot be used to guess codes).
    submissions_per_ip_per_hour: int = 30
    submissions_per_phone_per_hour: int = 10
    # Operator entry (shared/routing/operator_entry.py): how many days back a receipt time may be given.
    operator_entry_max_days_back: int = Field(default=60, ge=1)
    # SMS webhook pushes per source address (a provider's gateways send everyone's texts: set it high) and texts
    # per sender number; what is over is counted and logged, never stored.
    sms_pushes_per_ip_per_hour: int = 3000
    sms_texts_per_number_per_hour: int = 20
    # A Tencent reply callback whose `time` is further than this from ours is refused (a replayed capture).
    sms_callback_window_seconds: int = Field(default=3600, ge=60)
    lookups_per_ip_per_hour: int = 120
    failed_lookups_per_number_per_hour: int = 10
    # Complaints one staff member may enter per hour (hotline, letters, visits, ...: shared/routing/operator_entry.py).
    entries_per_staff_per_hour: int = 120
    # The citizen web page (shared/intake/web.py) and its uploads (shared/core/uploads.py): files go straight to S3
    # through
    # presigned POSTs that live this long, at most this many files of at most this size per complaint, and
    # upload slots handed out per client IP. The base path is where API Gateway maps the intake API.
    upload_max_bytes: int = 20 * 1024 * 1024
    upload_max_files: int = 10
    upload_url_seconds: int = 3600
    uploads_per_ip_per_hour: int = 60
    intake_base_path: str = "/intake"
    # Where API Gateway maps the routing service's case API and staff console (shared/routing/console.py).
    cases_base_path: str = "/cases"
    # Where API Gateway maps the reporting service (its dashboard page shares the console's sign-in).
    reports_base_path: str = "/reports"
    # Which SMS service sends notifications (shared/routing/sms.py): "sns" (global AWS, the local stack), "aliyun"
    # (Dysms)
    # or "tencent" (Tencent Cloud SMS), since SNS cannot text from AWS's China regions. The domestic providers read
    # their credentials from the Secrets Manager secret named here (JSON: Aliyun access_key_id, access_key_secret;
    # Tencent secret_id, secret_key), their template codes from shared/data/sms_templates.json, and call the
    # provider's public endpoint unless one is set here (tests point it at a loopback stand-in).
    sms_provider: str = "sns"
    sms_secret: str = "hotspot-sms"
    sms_endpoint: str = ""
    # SMS intake (shared/intake/sms_inbound.py). Twilio signs each webhook with the account's auth token over the URL
    # it called: the public URL of the intake API as providers call it (the gateway changes host and path), so
    # it must be configured. Aliyun and Tencent webhooks carry `?token=<sms_webhook_token>`. These defaults only
    # suit the local stack: deployed, the secrets named by TWILIO_AUTH_TOKEN_SECRET and SMS_WEBHOOK_TOKEN_SECRET
    # give them.
    twilio_auth_token: str = "local-twilio-token"
    twilio_auth_token_secret: str = ""
    sms_webhook_token: str = "local-sms-token"
    sms_webhook_token_secret: str = ""
    # Secret values are read again after this long, so that a rotated webhook token is taken up without a deploy.
    secrets_cache_seconds: int = Field(default=300, ge=0)
    public_base_url: str = "http://127.0.0.1:8000/intake"
    # Email intake (shared/intake/mail_inbound.py): raw MIME lands under raw/email/ in the raw bucket (SES receipt
    # rule, IMAP poller, local SMTP listener) and the bucket's notification puts an S3 event on this queue.
    mail_queue: str = "hotspot-mail"
    # The published complaint address: replies come from it, and mail from it is never answered (loops).
    mail_address: str = "tousu@hotspot.localhost"
    # Replies go out through "ses" (global regions) or "smtp" (China regions: the mailbox's SMTP submission).
    mail_sender: str = "ses"
    # SES is not in every region (none in China): the region whose SES sends; empty means the functions' own.
    mail_ses_region: str = ""
    # Secrets Manager secret names (JSON: host, port, username, password; IMAP also mailbox; SMTP also
    # security "ssl" or "starttls"). An empty IMAP secret name switches the poller off.
    mail_smtp_secret: str = ""
    mail_imap_secret: str = ""
    # Who stamps the Authentication-Results header we trust (its authserv-id): SES, or the county mailbox's provider
    # for the IMAP poller (see its headers, e.g. "mx.163.com"). Mail is answered only when that header, on top,
    # says DMARC passed (and, from SES, its spam and virus verdicts are PASS).
    mail_authserv_id: str = "amazonses.com"
    # Larger mail is not parsed: it is quarantined with its raw MIME kept.
    mail_max_bytes: int = 10 * 1024 * 1024
    # Staff tokens (shared/core/auth.py). With a JWKS URL (global AWS: the Cognito user pool's
    # `<issuer>/.well-known/jwks.json`, issuer `https://cognito-idp.<region>.amazonaws.com/<pool id>`, audience
    # the app client id) tokens come from that issuer. Without one (China regions, local stack) the system is
    # its own issuer: staff log in at /cases/auth/login and tokens are signed with the keys kept in the
    # Secrets Manager secret named here (JSON: current and previous private keys with their key ids).
    auth_issuer: str = "hotspot-local"
    auth_audience: str = "hotspot-staff"
    auth_jwks_url: str = ""
    auth_signing_secret: str = "hotspot-auth-signing-key"
    # Keys fetched from the JWKS or the secret are reused this long; clock skew tolerated on exp/nbf/iat.
    auth_keys_cache_seconds: int = 300
    auth_leeway_seconds: int = 60
    # An own-issuer token is checked against its account (active, role, token generation) on each request; the
    # account is re-read at most this often per function instance, so a deactivation ends tokens within it.
    auth_session_cache_seconds: int = Field(default=5, ge=0, le=60)
    # A token of an external issuer (a JWKS URL: Cognito, an OIDC provider) carries no account generation, so it
    # cannot be ended early; it is refused once this old (from its `iat`), however far its `exp` is.
    auth_external_token_max_seconds: int = Field(default=3600, ge=300, le=86400)
    # Lifetime of a token issued at login, and login attempts allowed per client IP.
    auth_token_seconds: int = 8 * 3600
    logins_per_ip_per_hour: int = 60
    # Failed logins of one username from one address before each further one waits (30 s, doubling, at most the
    # maximum); counting starts again after a maximum's quiet.
    login_free_failures: int = Field(default=3, ge=1)
    login_max_delay_seconds: int = Field(default=3600, ge=60)
    # The alarm notifier (shared/routing/alarms.py), in stages where SNS cannot text: the stage's alarm topic it is
    # subscribed to (app.py registers it only when named), the duty phones (E.164) and the operators' mailbox it
    # tells, and the stage's name prefix, taken off alarm names to keep an SMS short.
    alarm_topic: str = ""
    alarm_phones: list[str] = []
    alarm_email: str = ""
    stage_prefix: str = "hotspot"


class SecretsNotConfigured(Exception):
    """A deployed function without its secrets: it must not serve (HTTP answers 503, handlers fail)."""


def on_lambda() -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ


@cache
def environment_settings() -> Settings:
    """The settings as the environment gives them, secrets at their local defaults unless set there. What
    app.py needs at import (queue names) comes from here: it must not depend on reading a secret."""
    return Settings()


def get_settings() -> Settings:
    """The settings with the secrets' values; raises SecretsNotConfigured on Lambda while one is missing."""
    settings = environment_settings()
    values: dict[str, str] = {}
    missing: list[str] = []
    for setting in SECRET_SETTINGS:
        name = getattr(settings, f"{setting}_secret")
        if not name:
            # Outside Lambda (local stack, tests, the CLI without --stage) the plain value is the one meant.
            if on_lambda():
                missing.append(setting)
            continue
        value = secrets.cached_string(name, settings.secrets_cache_seconds)
        if value:
            values[setting] = value
        else:
            missing.append(setting)
    if missing:
        # Names of settings only, never a value.
        logger.error("secrets not configured: refusing to serve", extra={"missing_secrets": missing})
        raise SecretsNotConfigured(", ".join(missing))
    return settings.model_copy(update=values) if values else settings
