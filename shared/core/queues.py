"""SQS access: sending envelopes to the queues named in the settings."""

from functools import cache

from shared.core.aws import client
from shared.core.messages import Envelope


@cache
def queue_url(name: str) -> str:
    # Resolved once per process: the URL depends on the region, the account and the endpoint.
    return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def send(queue: str, message: Envelope) -> None:
    client("sqs").send_message(QueueUrl=queue_url(queue), MessageBody=message.model_dump_json())


def reset() -> None:
    queue_url.cache_clear()
