"""The AWS resources the services need, defined once.

The local stack provisions exactly these in moto (`infra/provision.py`) and the CDK resources stack creates
them in an account (`infra/cdk/resources_stack.py`). Key design of the cases table: `shared/core/dal/`.
"""

from typing import Any

from shared.core.settings import Settings
from shared.intake import mail_inbound

# Lambda's guidance: a queue's visibility timeout is at least six times the consumer's timeout.
FUNCTION_TIMEOUT_SECONDS = 10
VISIBILITY_TIMEOUT_SECONDS = 60
# A message that fails this many receives is moved to the queue's dead-letter queue.
MAX_RECEIVE_COUNT = 5
DLQ_RETENTION_SECONDS = 14 * 24 * 3600

CASE_INDEXES = ("gsi1", "gsi2", "gsi3", "gsi4")

# The settings that name a resource, and the suffix of its name after the stage's prefix. The local stack's
# defaults (shared/core/settings.py) are prefix `hotspot`; a deployed stage's is `hotspot-<stage>`.
NAMED_RESOURCES = {
    "cases_table": "cases",
    "idempotency_table": "idempotency",
    "raw_bucket": "raw",
    "reports_bucket": "reports",
    "intake_queue": "intake",
    "events_queue": "events",
    "notify_queue": "notify",
    "mail_queue": "mail",
}


def named(prefix: str) -> Settings:
    """Settings whose resource names carry the prefix, the other settings at their defaults."""
    names: dict[str, Any] = {field: f"{prefix}-{suffix}" for field, suffix in NAMED_RESOURCES.items()}
    return Settings.model_construct(**names)


def _gsi(name: str) -> dict:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": f"{name}pk", "KeyType": "HASH"},
            {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def tables(settings: Settings) -> list[dict]:
    """CreateTable arguments (on-demand billing) for every table."""
    index_attributes = [
        {"AttributeName": f"{name}{part}", "AttributeType": "S"} for name in CASE_INDEXES for part in ("pk", "sk")
    ]
    return [
        {
            "TableName": settings.cases_table,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                *index_attributes,
            ],
            "GlobalSecondaryIndexes": [_gsi(name) for name in CASE_INDEXES],
        },
        {
            "TableName": settings.idempotency_table,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "key", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "key", "AttributeType": "S"}],
            "TimeToLiveAttribute": "expires_at",
        },
    ]


def queues(settings: Settings) -> list[str]:
    """Names of the work queues; each gets a dead-letter queue named `<name>-dlq`."""
    return [settings.intake_queue, settings.events_queue, settings.notify_queue, settings.mail_queue]


def dead_letter_queue(queue: str) -> str:
    return f"{queue}-dlq"


def buckets(settings: Settings) -> list[str]:
    return [settings.raw_bucket, settings.reports_bucket]


# Raw mail under this prefix of the raw bucket raises an S3 event on the mail queue.
MAIL_PREFIX = mail_inbound.PREFIX
