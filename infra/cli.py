"""`hotspot`, the project's command line: the local stack, the classifier on JSON lines, and DLQ redrive."""

import argparse
import ipaddress
import json
import logging
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from infra.resources import dead_letter_queue
from shared.aws import client


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    exit_code: int = args.command(args)
    return exit_code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotspot", description="行政执法热点追踪: local stack and tools")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the local stack (moto, the three apps, queues and schedules)")
    run.add_argument("--host", default="127.0.0.1", help="loopback address of the HTTP gateway")
    run.add_argument("--port", type=int, default=8000, help="port of the HTTP gateway")
    run.add_argument("--moto-port", type=int, default=5000, help="port of the moto server")
    run.add_argument("--fire-schedules-now", action="store_true", help="fire every schedule once at start-up")
    run.add_argument("--smtp-port", type=int, default=2525, help="port of the SMTP listener that takes mail in")
    run.set_defaults(command=_run)

    classify = commands.add_parser(
        "classify", help='classify JSON lines {"text": ..., "respondent": ...} from stdin, one JSON line out each'
    )
    classify.set_defaults(command=_classify)

    redrive_parser = commands.add_parser("redrive", help="move the messages of QUEUE-dlq back to QUEUE")
    redrive_parser.add_argument("queue", metavar="QUEUE")
    redrive_parser.set_defaults(command=_redrive)
    return parser


# --- run ------------------------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _run(args: argparse.Namespace) -> int:
    if not _is_loopback(args.host):
        # The gateway has no TLS and the local token issuer is for development only.
        print(f"hotspot run: refusing to listen on {args.host}; use a loopback address", file=sys.stderr)
        return 2
    from infra import local_stack  # chalice and moto are development dependencies

    # Warnings from libraries, and a line per request and handler invocation from the local stack.
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    local_stack.log.setLevel(logging.INFO)
    try:
        local_stack.run(args.host, args.port, args.moto_port, args.fire_schedules_now, args.smtp_port)
    except (RuntimeError, OSError) as error:
        print(f"hotspot run: {error}", file=sys.stderr)
        return 1
    return 0


# --- classify -------------------------------------------------------------------------------------------------


class ClassifyRequest(BaseModel):
    # Other fields are ignored, so labelled sample files can be piped in as they are.
    model_config = ConfigDict(extra="ignore")

    text: str = Field(pattern=r"\S")
    respondent: str | None = None


def _write_line(payload: dict[str, Any]) -> None:
    # UTF-8 whatever the locale says; one flushed line per input line, so it works in a pipe.
    sys.stdout.buffer.write(json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


def _line_error(error: ValidationError) -> dict[str, str]:
    if any(detail["type"] == "json_invalid" for detail in error.errors()):
        return {"code": "invalid_json", "message": "这一行不是有效的 JSON"}
    return {
        "code": "invalid_input",
        "message": "需要 JSON 对象：text 为非空字符串，respondent 为字符串或省略",
    }


def _classify(args: argparse.Namespace) -> int:
    from shared.classifier import classify  # only this command needs the classifier and its data

    all_valid = True
    for number, line in enumerate(sys.stdin.buffer, start=1):
        if not line.strip():
            continue
        try:
            request = ClassifyRequest.model_validate_json(line)
        except ValidationError as error:
            all_valid = False
            _write_line({"error": _line_error(error), "line": number})
            continue
        _write_line(classify(request.text, request.respondent).model_dump(mode="json"))
    return 0 if all_valid else 1


# --- redrive --------------------------------------------------------------------------------------------------


def redrive(queue: str) -> int:
    """Move every message of the queue's dead-letter queue back to it; returns how many moved.

    SQS's StartMessageMoveTask does this on AWS, but moto lacks it; receive, send and delete work on both.
    """
    sqs = client("sqs")
    source = sqs.get_queue_url(QueueName=dead_letter_queue(queue))["QueueUrl"]
    target = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return moved
        entries = [
            {"Id": str(index), "MessageBody": m["Body"], "MessageAttributes": m.get("MessageAttributes", {})}
            for index, m in enumerate(messages)
        ]
        sent = sqs.send_message_batch(QueueUrl=target, Entries=entries)
        sent_ids = [entry["Id"] for entry in sent.get("Successful", [])]
        if sent_ids:
            sqs.delete_message_batch(
                QueueUrl=source,
                Entries=[{"Id": index, "ReceiptHandle": messages[int(index)]["ReceiptHandle"]} for index in sent_ids],
            )
        moved += len(sent_ids)
        if sent.get("Failed"):
            raise RuntimeError(f"moved {moved}, but {len(sent['Failed'])} could not be sent and stay in the DLQ")


def _redrive(args: argparse.Namespace) -> int:
    try:
        moved = redrive(args.queue)
    except (BotoCoreError, ClientError, RuntimeError) as error:
        print(f"hotspot redrive: {error}", file=sys.stderr)
        return 1
    print(f"moved {moved} messages from {dead_letter_queue(args.queue)} to {args.queue}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
