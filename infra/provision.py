"""Create the resources of `infra/resources.py` in the current endpoint (moto, for the local stack).

Idempotent: whatever already exists is left as it is or brought to the defined settings, so running
it twice is harmless. On AWS the CDK resources stack creates these instead (`infra/cdk/resources_stack.py`).
"""

import json

from botocore.exceptions import ClientError

from infra.resources import (
    DLQ_RETENTION_SECONDS,
    MAIL_PREFIX,
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT_SECONDS,
    buckets,
    dead_letter_queue,
    queues,
    tables,
)
from shared.core import auth
from shared.core.aws import client
from shared.core.settings import Settings


def provision(settings: Settings) -> None:
    _create_tables(settings)
    _create_queues(settings)
    _create_buckets(settings)
    _notify_mail(settings)
    # The own token issuer's first signing key, generated here and never committed (shared/core/auth.py).
    auth.ensure_signing_key(settings)


def _create_tables(settings: Settings) -> None:
    dynamodb = client("dynamodb")
    for definition in tables(settings):
        # TimeToLiveAttribute is ours, not a CreateTable argument: TTL is switched on separately.
        create_args = {key: value for key, value in definition.items() if key != "TimeToLiveAttribute"}
        try:
            dynamodb.create_table(**create_args)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
        ttl_attribute = definition.get("TimeToLiveAttribute")
        if ttl_attribute:
            _enable_ttl(definition["TableName"], ttl_attribute)


def _enable_ttl(table: str, attribute: str) -> None:
    dynamodb = client("dynamodb")
    # DynamoDB refuses to enable TTL twice, so look first.
    status = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]["TimeToLiveStatus"]
    if status not in ("ENABLED", "ENABLING"):
        dynamodb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )


def _ensure_queue(name: str, attributes: dict[str, str]) -> str:
    """Create the queue or, if it exists, set its attributes (CreateQueue refuses differing ones)."""
    sqs = client("sqs")
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def _create_queues(settings: Settings) -> None:
    sqs = client("sqs")
    for name in queues(settings):
        dlq_url = _ensure_queue(dead_letter_queue(name), {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive_policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
        _ensure_queue(
            name,
            {"VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS), "RedrivePolicy": json.dumps(redrive_policy)},
        )


def _create_buckets(settings: Settings) -> None:
    s3 = client("s3")
    region = s3.meta.region_name
    # us-east-1 is the one region that rejects an explicit location constraint.
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    for bucket in buckets(settings):
        try:
            s3.create_bucket(Bucket=bucket, **location)
        except ClientError as error:
            if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise


def _notify_mail(settings: Settings) -> None:
    """New raw mail in the raw bucket -> an S3 event on the mail queue, as the deployed bucket does."""
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=settings.mail_queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client("s3").put_bucket_notification_configuration(
        Bucket=settings.raw_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": MAIL_PREFIX}]}},
                }
            ]
        },
    )
