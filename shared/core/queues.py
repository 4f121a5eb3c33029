"""SQS access: sending envelopes to the queues named in the settings."""

from functools import cache

from shared.core.aws import client
from shared.core.messages import Envelope
from shared.core.observability import logger


@cache
def queue_url(name: str) -> str:
    # Resolved once per process: the URL depends on the region, the account and the endpoint.
    return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def send(queue: str, message: Envelope) -> None:
    client("sqs").send_message(QueueUrl=queue_url(queue), MessageBody=message.model_dump_json())


def send_batch(queue: str, messages: list[Envelope]) -> set[int]:
    """Send up to ten messages in one request; the positions of those not sent (all of them if the request fails)."""
    if not messages:
        return set()
    entries = [{"Id": str(index), "MessageBody": message.model_dump_json()} for index, message in enumerate(messages)]
    try:
        response = client("sqs").send_message_batch(QueueUrl=queue_url(queue), Entries=entries)
    except Exception:
        logger.exception("batch send failed", extra={"queue": queue, "messages": len(messages)})
        return set(range(len(messages)))
    return {int(failed["Id"]) for failed in response.get("Failed", [])}


def waiting(names: tuple[str, ...]) -> int:
    """Messages on the queues `names`, visible or being worked: 0 once their consumers have taken every one."""
    counts = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    total = 0
    for name in names:
        attributes = client("sqs").get_queue_attributes(QueueUrl=queue_url(name), AttributeNames=counts)
        total += sum(int(value) for value in attributes["Attributes"].values())
    return total


def reset() -> None:
    queue_url.cache_clear()
