"""SQS batches the way Lambda wants them: each record on its own, failures reported by message id.

Chalice calls handler(event), so Powertools' BatchProcessor is used as an object, fed the raw event
and its context. The deployed event source mapping must set ReportBatchItemFailures, which Chalice never does:
the CDK service stacks set it (infra/cdk/service_stack.py).
"""

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from shared.core.messages import Envelope
from shared.core.observability import count, logger, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

Item = TypeVar("Item")


class ItemFailure(TypedDict):
    itemIdentifier: str


class PartialItemFailureResponse(TypedDict):
    """What an SQS handler answers Lambda (as Powertools' type of the same name): the messages that failed."""

    batchItemFailures: list[ItemFailure]


def process_bodies(event: Any, handle: Callable[[str], object]) -> PartialItemFailureResponse:
    """Run `handle` on the body of every message of a Chalice SQSEvent, each on its own, for messages that are not
    our envelopes (S3 event notifications); returns {"batchItemFailures": [...]}."""
    # Imported on a consumer's first batch: the API functions, which import the same app, never take one.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    def handle_record(record: "SQSRecord") -> None:
        with traced("message"):
            handle(record.body)

    answer = process_partial_response(
        event=event.to_dict(),
        record_handler=handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=event.context,
    )
    # SQS names a failed item by its message id (Powertools' type also allows Kafka's composite identifiers).
    return {
        "batchItemFailures": [{"itemIdentifier": str(item["itemIdentifier"])} for item in answer["batchItemFailures"]]
    }


def process_batch(event: Any, handle: Callable[[dict[str, Envelope]], set[str]]) -> PartialItemFailureResponse:
    """Run `handle` on the messages of a Chalice SQSEvent together (by message id), for a consumer that saves
    requests across a batch; it returns the ids of the messages that failed. A message that is not an envelope
    fails on its own."""
    messages: dict[str, Envelope] = {}
    failed: set[str] = set()
    for record in event.to_dict()["Records"]:
        try:
            messages[record["messageId"]] = Envelope.model_validate_json(record["body"])
        except ValueError:
            logger.exception("unreadable message", extra={"message_id": record["messageId"]})
            failed.add(record["messageId"])
    with traced("batch"):
        failed |= handle(messages)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in sorted(failed)]}


def each_isolated(items: Iterable[Item], work: Callable[[Item], object], what: str, key: Callable[[Item], str]) -> int:
    """A scheduled run's items each on its own: one that fails is logged by its key (never its data), counted as
    the metric `ScheduledItemFailed` and skipped, so that one bad item never stops the rest. How many failed."""
    failed = 0
    for item in items:
        try:
            work(item)
        except Exception:
            failed += 1
            logger.exception(f"{what} failed for one item; the rest go on", extra={"item": key(item)})
    if failed:
        count("ScheduledItemFailed", failed)
    return failed
