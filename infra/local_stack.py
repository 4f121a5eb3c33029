"""The local stack: what AWS runs around the three Chalice apps, rebuilt in one process.

- moto in server mode, a subprocess on loopback, stands in for DynamoDB, SQS, S3 and SNS;
- one HTTP gateway serves the apps under base paths, as API Gateway base-path mappings do;
- a poller per SQS event source invokes its handler as Lambda's event source mapping does, with partial
  batch failures (ReportBatchItemFailures): only the messages a handler did not report are deleted;
- a timer per schedule invokes its handler as an EventBridge rule does.
`chalice local` does only the HTTP part of this, for one app (DESIGN.md, "Facts that help with the local stack").
"""

import base64
import importlib.util
import json
import logging
import os
import re
import signal
import socket

# Starts our own moto server only.
import subprocess  # nosec B404
import sys
import threading
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import Chalice, ScheduledEventConfig, ScheduleExpression, SQSEventConfig
from chalice.config import Config
from chalice.constants import DEFAULT_LAMBDA_MEMORY_SIZE
from chalice.local import LambdaContext, LocalChalice, LocalGateway, LocalGatewayException, RouteMatcher

from infra.provision import provision
from infra.resources import FUNCTION_TIMEOUT_SECONDS
from shared.core import filing
from shared.core.aws import client, reset_clients
from shared.core.models import Channel
from shared.core.settings import Settings, get_settings

# Not under "hotspot": that is the apps' Powertools logger, which has a JSON handler of its own.
log = logging.getLogger("local_stack")

# The county deploys in AWS's China regions; moto serves them like any other (ARNs in the aws-cn partition).
REGION = "cn-north-1"
# moto's dummy credentials for the local stack (any value works), no secret.
MOTO_CREDENTIAL = "testing"
SERVICES_DIR = Path(__file__).resolve().parents[1] / "services"
# API base path -> service directory, as the custom domain's base-path mappings are set up on AWS.
BASE_PATHS = {"intake": "intake", "cases": "routing", "reports": "reporting"}
# Chalice's default stage; on AWS a handler's function and rule are both named `<app>-<stage>-<handler>`.
STAGE = "dev"
# Concurrent batches per SQS queue, as Lambda's event source mapping runs several at once (it starts with five).
SQS_POLLERS = 3
# Short long-polls so that stopping takes about a second.
POLL_WAIT_SECONDS = 1
# SQS returns at most ten messages per receive: larger batch sizes are capped to that locally.
MAX_SQS_BATCH = 10
MAX_CRON_YEAR = 2199
# API Gateway's payload limit.
MAX_REQUEST_BYTES = 10 * 1024 * 1024


# --- services -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str  # its directory under services/, used in logs
    base_path: str  # first segment of the URL path of its API
    app: Chalice
    # Each function's timeout, from the service's .chalice/config.json (`lambda_timeout`, or a function's own).
    timeouts: dict[str, int] = field(default_factory=dict)
    default_timeout: int = FUNCTION_TIMEOUT_SECONDS

    def timeout(self, handler_name: str) -> int:
        return self.timeouts.get(handler_name, self.default_timeout)


def load_app(app_file: Path, module_name: str) -> Chalice:
    """Import one service's `app.py` under a module name of its own.

    Each service has a top-level module `app`; loading them by path under distinct names keeps them apart.
    The service directory is on sys.path only while importing, for anything next to app.py.
    """
    spec = importlib.util.spec_from_file_location(module_name, app_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {app_file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    service_dir = str(app_file.parent)
    sys.path.insert(0, service_dir)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(service_dir)
    app: Chalice = module.app
    return app


def load_services() -> list[Service]:
    services = []
    for base_path, name in BASE_PATHS.items():
        config = json.loads((SERVICES_DIR / name / ".chalice" / "config.json").read_text(encoding="utf-8"))
        timeouts = {
            function: int(values["lambda_timeout"])
            for function, values in config.get("lambda_functions", {}).items()
            if "lambda_timeout" in values
        }
        app = load_app(SERVICES_DIR / name / "app.py", f"hotspot_{name}_app")
        default = int(config.get("lambda_timeout", FUNCTION_TIMEOUT_SECONDS))
        services.append(Service(name, base_path, app, timeouts, default))
    return services


# --- moto and the environment ---------------------------------------------------------------------------------


# Loopback requests never go through a proxy a developer may have configured.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class MotoServer:
    """moto in server mode, with the project's patches (infra/moto_server.py), as a subprocess on loopback."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_seconds: float = 20.0) -> None:
        _ensure_port_free(self.port)
        # Our own moto server module under this interpreter, no shell.
        self._process = subprocess.Popen(  # nosec B603
            [sys.executable, "-m", "infra.moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with code {self._process.returncode}")
            try:
                with _DIRECT.open(f"{self.endpoint}/moto-api/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.endpoint} within {timeout_seconds:.0f} s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def _ensure_port_free(port: int) -> None:
    # Otherwise the readiness check could be answered by whatever already listens there.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise RuntimeError(f"port {port} on 127.0.0.1 is in use") from error


def use_local_environment(endpoint: str) -> None:
    """Point every boto3 client of this process at moto, with dummy credentials, never at a real account."""
    # A profile named in AWS_PROFILE may not exist here, and boto3 refuses to start without it.
    os.environ.pop("AWS_PROFILE", None)
    for name in ("no_proxy", "NO_PROXY"):
        os.environ[name] = ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"]))
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": MOTO_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": MOTO_CREDENTIAL,
            "AWS_SESSION_TOKEN": MOTO_CREDENTIAL,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    # Locally there is no X-Ray and no CloudWatch to take metrics; a developer may still override these.
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "hotspot")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
    os.environ.setdefault("POWERTOOLS_LOGGER_LOG_EVENT", "false")
    reset_clients()


@dataclass(frozen=True)
class Account:
    partition: str
    region: str
    account_id: str

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"


def current_account() -> Account:
    sts = client("sts")
    # arn:<partition>:sts::<account>:<identity>
    arn_parts = sts.get_caller_identity()["Arn"].split(":")
    return Account(partition=arn_parts[1], region=sts.meta.region_name, account_id=arn_parts[4])


# --- invoking handlers like Lambda ----------------------------------------------------------------------------


def describe(error: BaseException) -> str:
    """Type of an exception and where it was raised, without its message (which may quote personal data)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return type(error).__name__
    last = frames[-1]
    return f"{type(error).__name__} in {last.name} ({Path(last.filename).name}:{last.lineno})"


class FunctionTimedOut(RuntimeError):
    """The handler ran past its function's timeout: Lambda would have stopped it, and reports an error."""


class LambdaFunction:
    """One event handler of an app, called with a fresh Lambda-like context per invocation, within its timeout."""

    def __init__(self, service: Service, handler_name: str, account: Account) -> None:
        self.label = f"{service.name}.{handler_name}"
        self.name = f"{service.app.app_name}-{STAGE}-{handler_name}"
        self._arn = account.arn("lambda", f"function:{self.name}")
        self._handler = service.app.handler_map[handler_name]
        self.timeout_seconds = service.timeout(handler_name)

    def invoke(self, event: dict[str, Any]) -> Any:
        """The handler's result; FunctionTimedOut past the timeout. A thread cannot be killed: the handler is
        abandoned to finish on its own, and what it was given is treated as Lambda treats a timed-out
        invocation (an SQS batch comes back after the visibility timeout)."""
        context = LambdaContext(self.name, DEFAULT_LAMBDA_MEMORY_SIZE, self.timeout_seconds * 1000)
        context.invoked_function_arn = self._arn
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["result"] = self._handler(event, context)
            except BaseException as error:  # handed to the caller, as the Lambda runtime reports it
                outcome["error"] = error

        worker = threading.Thread(target=call, name=f"invoke {self.label}", daemon=True)
        worker.start()
        worker.join(self.timeout_seconds)
        if worker.is_alive():
            raise FunctionTimedOut(f"{self.label} timed out after {self.timeout_seconds} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("result")


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, from a ReceiveMessage result."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    # Lambda spells message attributes in camelCase and base64-encodes binary values.
    attribute: dict[str, Any] = {"dataType": value["DataType"], "stringListValues": [], "binaryListValues": []}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return attribute


def failed_message_ids(result: Any, batch_ids: set[str]) -> set[str]:
    """The messages a handler reported as failed, read as Lambda reads a ReportBatchItemFailures response.

    No response, or one without failures, means every message succeeded; an identifier that is missing or
    not in the batch makes Lambda treat the whole batch as failed.
    """
    if not isinstance(result, dict):
        return set()
    failed: set[str] = set()
    for failure in result.get("batchItemFailures") or []:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in batch_ids:
            return set(batch_ids)
        failed.add(identifier)
    return failed


class SqsPoller:
    """Lambda's event source mapping for one SQS handler: long-poll, invoke, delete what succeeded.

    What is not deleted comes back after the queue's visibility timeout, and the queue's redrive policy
    moves it to the dead-letter queue after maxReceiveCount receives.
    """

    def __init__(self, function: LambdaFunction, config: SQSEventConfig, stop: threading.Event) -> None:
        self._function = function
        self._batch_size = min(config.batch_size, MAX_SQS_BATCH)
        self._stop = stop
        sqs = client("sqs")
        queue_name = config.queue or (config.queue_arn or "").rsplit(":", 1)[-1]
        self._queue_url: str = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self._queue_arn: str = attributes["QueueArn"]
        self._region: str = sqs.meta.region_name

    def run(self) -> None:
        sqs = client("sqs")
        while not self._stop.is_set():
            try:
                response = sqs.receive_message(
                    QueueUrl=self._queue_url,
                    MaxNumberOfMessages=self._batch_size,
                    WaitTimeSeconds=POLL_WAIT_SECONDS,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except (BotoCoreError, ClientError) as error:
                if not self._stop.is_set():
                    log.warning("sqs %s: receive failed: %s", self._function.label, describe(error))
                    self._stop.wait(POLL_WAIT_SECONDS)
                continue
            messages = response.get("Messages", [])
            if messages:
                self.process(messages)

    def process(self, messages: list[dict[str, Any]]) -> None:
        started = time.perf_counter()
        event = {"Records": [sqs_record(message, self._queue_arn, self._region) for message in messages]}
        try:
            result = self._function.invoke(event)
        except Exception as error:  # a Lambda invocation error: the whole batch stays on the queue
            log.error(
                "sqs %s: %d records, raised %s, all left for retry (%.0f ms)",
                self._function.label,
                len(messages),
                describe(error),
                _elapsed_ms(started),
            )
            return
        failed = failed_message_ids(result, {message["MessageId"] for message in messages})
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self._delete(done)
        log.info(
            "sqs %s: %d records, %d failed (%.0f ms)",
            self._function.label,
            len(messages),
            len(failed),
            _elapsed_ms(started),
        )

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        entries = [{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(messages)]
        try:
            response = client("sqs").delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except (BotoCoreError, ClientError) as error:
            log.warning("sqs %s: delete failed: %s", self._function.label, describe(error))
            return
        if response.get("Failed"):
            log.warning("sqs %s: %d deletes failed", self._function.label, len(response["Failed"]))


# --- schedules ------------------------------------------------------------------------------------------------


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (UTC), or None if there is none."""
        ...


@dataclass(frozen=True)
class RateSchedule:
    period: timedelta
    origin: datetime  # when the rule was created: a rate counts from there

    def next_after(self, moment: datetime) -> datetime:
        periods = max((moment - self.origin) // self.period + 1, 1)
        return self.origin + periods * self.period


@dataclass(frozen=True)
class CronSchedule:
    """EventBridge cron fields in UTC; a day field is None where the expression has `?`."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # 1 = Sunday ... 7 = Saturday
    years: frozenset[int]

    def _matches_day(self, day: date) -> bool:
        if self.days_of_month is not None:
            return day.day in self.days_of_month
        assert self.days_of_week is not None  # parse_schedule allows `?` in only one of the two
        return (day.weekday() + 1) % 7 + 1 in self.days_of_week

    def next_after(self, moment: datetime) -> datetime | None:
        # Skip whole years, months, days and hours that cannot match, then minutes.
        candidate = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while candidate.year <= MAX_CRON_YEAR:
            if candidate.year not in self.years:
                candidate = datetime(candidate.year + 1, 1, 1, tzinfo=UTC)
            elif candidate.month not in self.months:
                year, month = divmod(candidate.year * 12 + candidate.month, 12)  # the next month
                candidate = datetime(year, month + 1, 1, tzinfo=UTC)
            elif not self._matches_day(candidate.date()):
                candidate = candidate.replace(hour=0, minute=0) + timedelta(days=1)
            elif candidate.hour not in self.hours:
                candidate = candidate.replace(minute=0) + timedelta(hours=1)
            elif candidate.minute not in self.minutes:
                candidate += timedelta(minutes=1)
            else:
                return candidate
        return None


_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_CRON = re.compile(r"cron\((.*)\)")
_RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_WEEKDAYS = {name: number for number, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
# (lowest, highest, names) of each cron field, in order.
_CRON_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (1, 7, _WEEKDAYS),
    (1970, MAX_CRON_YEAR, {}),
)


def parse_schedule(expression: str, origin: datetime) -> Schedule:
    """Parse an EventBridge schedule expression: `rate(5 minutes)` or `cron(0 2 * * ? *)` (UTC).

    Cron fields take *, ?, lists, ranges, steps and month or weekday names; L, W and # are not supported.
    """
    rate = _RATE.fullmatch(expression.strip())
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        # EventBridge insists on `1 minute` but `5 minutes`.
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            raise ValueError(f"invalid rate expression: {expression!r}")
        return RateSchedule(period=value * _RATE_UNITS[unit.removesuffix("s")], origin=origin)
    cron = _CRON.fullmatch(expression.strip())
    if not cron:
        raise ValueError(f"not a rate or cron expression: {expression!r}")
    fields = cron.group(1).split()
    if len(fields) != len(_CRON_FIELDS):
        raise ValueError(f"cron needs 6 fields (minutes hours day-of-month month day-of-week year): {expression!r}")
    if (fields[2] == "?") == (fields[4] == "?"):
        raise ValueError(f"cron needs `?` in exactly one of day-of-month and day-of-week: {expression!r}")
    minutes, hours, days_of_month, months, days_of_week, years = (
        None if text == "?" else _parse_cron_field(text, *limits)
        for text, limits in zip(fields, _CRON_FIELDS, strict=True)
    )
    if minutes is None or hours is None or months is None or years is None:
        raise ValueError(f"`?` is only allowed in the day fields: {expression!r}")
    return CronSchedule(minutes, hours, days_of_month, months, days_of_week, years)


def _parse_cron_field(text: str, lowest: int, highest: int, names: dict[str, int]) -> frozenset[int]:
    def number(token: str) -> int:
        if token.upper() in names:
            return names[token.upper()]
        if not token.isdigit():
            raise ValueError(f"unsupported cron value {token!r} in {text!r}")
        return int(token)

    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        if slash and not step_text.isdigit():
            raise ValueError(f"invalid cron step in {text!r}")
        step = int(step_text) if slash else 1
        if base == "*":
            start, end = lowest, highest
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = number(first), number(last)
        else:
            start = number(base)
            end = highest if slash else start  # `5/15` means from 5 on, every 15
        if step < 1 or not lowest <= start <= end <= highest:
            raise ValueError(f"cron field {text!r} is outside {lowest}-{highest}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def scheduled_event(rule_arn: str, account: Account, fire_time: datetime) -> dict[str, Any]:
    """The event EventBridge sends a rule's target when a schedule fires."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account.account_id,
        "time": fire_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": account.region,
        "resources": [rule_arn],
        "detail": {},
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ScheduleTimer:
    """An EventBridge schedule rule with one target: fires the handler at each due time."""

    def __init__(
        self,
        function: LambdaFunction,
        config: ScheduledEventConfig,
        account: Account,
        stop: threading.Event,
        fire_now: bool,
    ) -> None:
        expression = config.schedule_expression
        text = expression.to_string() if isinstance(expression, ScheduleExpression) else expression
        self._schedule = parse_schedule(text, origin=_utc_now())
        self._function = function
        self._rule_arn = account.arn("events", f"rule/{function.name}")
        self._account = account
        self._stop = stop
        self._fire_now = fire_now

    def run(self) -> None:
        moment = _utc_now()
        if self._fire_now:
            self.fire(moment)
        while (due := self._schedule.next_after(moment)) is not None:
            if self._stop.wait(max((due - _utc_now()).total_seconds(), 0.0)):
                return
            self.fire(due)
            moment = due

    def fire(self, fire_time: datetime) -> None:
        started = time.perf_counter()
        try:
            self._function.invoke(scheduled_event(self._rule_arn, self._account, fire_time))
        except Exception as error:  # a failed invocation; EventBridge would retry, the next due time will do
            log.error("schedule %s: raised %s (%.0f ms)", self._function.label, describe(error), _elapsed_ms(started))
            return
        log.info("schedule %s: ok (%.0f ms)", self._function.label, _elapsed_ms(started))


# --- the HTTP gateway -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _json_response(status: int, payload: Any) -> GatewayResponse:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return GatewayResponse(status, [("Content-Type", "application/json; charset=utf-8")], body)


def _error_response(status: int, code: str, message: str) -> GatewayResponse:
    return _json_response(status, {"error": {"code": code, "message": message}})


_MISSING_METHOD = GatewayResponse(
    403,
    [("Content-Type", "application/json"), ("x-amzn-ErrorType", "MissingAuthenticationTokenException")],
    b'{"message":"Missing Authentication Token"}',
)

# The errors chalice's LocalGateway raises for what API Gateway itself refuses (authorizers).
_GATEWAY_ERRORS = {
    401: ("unauthorized", "未登录或登录已失效"),
    403: ("forbidden", "无权访问"),
}


class Gateway:
    """API Gateway with base-path mappings: `/<base path>/<route>` reaches that app's `/<route>`."""

    def __init__(self, services: list[Service]) -> None:
        self._apps = {
            service.base_path: (
                LocalGateway(service.app, _chalice_config(service.app)),
                RouteMatcher(list(service.app.routes)),
                service.app.routes,
            )
            for service in services
        }
        self._landing = _json_response(
            200, {"service": "hotspot", "base_paths": [f"/{service.base_path}" for service in services]}
        )

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> GatewayResponse:
        path, has_query, query = target.partition("?")
        if path == "/":
            return self._landing
        base_path, _, route = path[1:].partition("/")
        app_target = f"/{route}" + (f"?{query}" if has_query else "")
        if base_path not in self._apps:
            return _error_response(404, "not_found", "找不到该地址")
        gateway, routes, methods = self._apps[base_path]
        try:
            matched = routes.match_route(app_target)
        except ValueError:
            return _error_response(404, "not_found", "找不到该地址")
        if method not in methods[matched.route]:
            # API Gateway (REST) has no integration for the method: it answers so without calling the function.
            return _MISSING_METHOD
        try:
            response = gateway.handle_request(method, app_target, headers, body)
        except LocalGatewayException as error:
            code, message = _GATEWAY_ERRORS.get(error.CODE, ("internal_error", "服务器内部错误"))
            return _error_response(error.CODE, code, message)
        except Exception as error:  # chalice turns view errors into 500s itself; this is anything around them
            log.error("http %s %s: raised %s", method, path, describe(error))
            return _error_response(500, "internal_error", "服务器内部错误")
        return _gateway_response(response)


def _chalice_config(app: Chalice) -> Config:
    return Config(
        chalice_stage=STAGE,
        function_name=f"{app.app_name}-{STAGE}",
        user_provided_params={
            "lambda_timeout": FUNCTION_TIMEOUT_SECONDS,
            "lambda_memory_size": DEFAULT_LAMBDA_MEMORY_SIZE,
        },
    )


def _gateway_response(response: dict[str, Any]) -> GatewayResponse:
    raw = response.get("body")
    if raw is None:
        body = b""
    elif response.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    headers = [(name, str(value)) for name, value in response.get("headers", {}).items()]
    for name, values in response.get("multiValueHeaders", {}).items():
        headers += [(name, str(value)) for value in values]
    # The HTTP server sets the length; API Gateway answers JSON when the app names no type.
    headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return GatewayResponse(response["statusCode"], headers, body)


class _GatewayRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a client pays for one connection, not one per request
    disable_nagle_algorithm = True  # headers and body are two writes: don't let the body wait for an ACK
    server: "_GatewayServer"

    def _handle(self) -> None:
        started = time.perf_counter()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            response = _error_response(400, "bad_request", "请求格式不正确")
            self.close_connection = True
        elif length > MAX_REQUEST_BYTES:
            response = _error_response(413, "payload_too_large", "请求内容过大")
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else None
            headers = {name.lower(): value for name, value in self.headers.items()}
            response = self.server.gateway.handle(self.command, self.path, headers, body)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        # Path only: the query string can carry a complainant's verification code.
        path = self.path.partition("?")[0]
        log.info("http %s %s -> %d (%.0f ms)", self.command, path, response.status, _elapsed_ms(started))

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, PROPFIND, made-up ones) reaches the gateway too, never http.server's 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Replaced by the line `_handle` logs."""


class _GatewayServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        super().__init__(address, _GatewayRequestHandler)
        self.gateway = gateway


# --- the runtime ----------------------------------------------------------------------------------------------


def _use_thread_local_requests(app: Chalice) -> None:
    """Chalice keeps the current request on the app object: give each thread its own, as `chalice local` does."""
    if not isinstance(app, LocalChalice):
        app.__class__ = type(f"Local{type(app).__name__}", (LocalChalice, type(app)), {})


class Runtime:
    """The gateway, SQS pollers and schedule timers of a set of services, against the current AWS endpoint."""

    def __init__(
        self,
        services: list[Service],
        host: str,
        port: int,
        fire_schedules_now: bool = False,
        pollers: int = SQS_POLLERS,
    ) -> None:
        for service in services:
            _use_thread_local_requests(service.app)
        self._stop = threading.Event()
        account = current_account()
        workers: list[tuple[str, Callable[[], None]]] = []
        for service in services:
            for source in service.app.event_sources:
                function = LambdaFunction(service, source.name, account)
                if isinstance(source, SQSEventConfig):
                    # Lambda runs several batches of one queue at once: so do we, to meet what that brings.
                    for number in range(pollers):
                        poller = SqsPoller(function, source, self._stop)
                        workers.append((f"sqs {function.label} {number + 1}", poller.run))
                elif isinstance(source, ScheduledEventConfig):
                    timer = ScheduleTimer(function, source, account, self._stop, fire_schedules_now)
                    workers.append((f"schedule {function.label}", timer.run))
                else:
                    log.warning("%s: %s is not run locally", function.label, type(source).__name__)
        self._server = _GatewayServer((host, port), Gateway(services))
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._gateway_thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)
        self.threads = [self._gateway_thread]
        self.threads += [threading.Thread(target=run, name=name, daemon=True) for name, run in workers]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self, timeout_seconds: float = 5.0) -> None:
        """Stop the pollers and timers, then the gateway; a handler still running is left to finish on its own."""
        self._stop.set()
        if self._gateway_thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        deadline = time.monotonic() + timeout_seconds
        for thread in self.threads:
            if thread.is_alive():
                thread.join(max(deadline - time.monotonic(), 0.0))


# --- mail in: an SMTP listener on loopback ----------------------------------------------------------------------


LOCAL_AUTHSERV_ID = "smtp.hotspot.localhost"
LOCAL_STAMP = f"Authentication-Results: {LOCAL_AUTHSERV_ID}; dmarc=pass (local stack, not checked)\r\n".encode()


class _ArchiveMail:
    """aiosmtpd handler: each message, as received, goes raw under raw/email/, where SES would put it."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # Stamped as SES stamps what it receives, so that the local stack answers mail as a deployment would; this
        # listener is on loopback only and checks nothing (MAIL_AUTHSERV_ID names it in run()).
        raw = LOCAL_STAMP + (envelope.original_content or b"")
        try:
            key = filing.archive_raw(get_settings(), Channel.email, raw, "message/rfc822", _utc_now())
        except Exception as error:  # a temporary failure: the client keeps the message and tries again
            log.error("smtp: archive failed: %s", describe(error))
            return "451 4.3.0 Could not store the message, try again later"
        log.info("smtp: %d bytes -> %s", len(raw), key)
        return "250 2.0.0 Message accepted"


class SmtpListener:
    """Any SMTP client can file a complaint by mail: what it sends becomes an S3 event on the mail queue."""

    def __init__(self, host: str, port: int) -> None:
        from aiosmtpd.controller import Controller  # a development dependency, as is the rest of this module

        _ensure_port_free(port)
        # No size limit here: oversized mail must reach the intake to be quarantined (and kept).
        self._controller = Controller(_ArchiveMail(), hostname=host, port=port, data_size_limit=0)
        self.address = f"{host}:{port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def _allow_replies(settings: Settings) -> None:
    """SES sends only from verified identities; moto keeps what it "sent" instead of delivering it."""
    client("ses", settings.mail_ses_region).verify_email_identity(EmailAddress=settings.mail_address)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run(
    host: str, port: int, moto_port: int, fire_schedules_now: bool, smtp_port: int = 2525, pollers: int = SQS_POLLERS
) -> None:
    """Run the whole local stack until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, _raise_interrupt)  # stop on SIGTERM as on Ctrl-C
    # A shell starting us in the background hands down SIGINT ignored; Ctrl-C and `kill -INT` must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    moto = MotoServer(moto_port)
    moto.start()
    try:
        use_local_environment(moto.endpoint)
        # What SMS providers are told to call (Twilio signs it): the gateway's own address unless configured.
        os.environ.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}/intake")
        # The county's region (China) has no SES, in moto as on AWS: replies go through moto's SES elsewhere.
        os.environ.setdefault("MAIL_SES_REGION", "us-east-1")
        os.environ.setdefault("MAIL_AUTHSERV_ID", LOCAL_AUTHSERV_ID)
        provision(get_settings())
        _allow_replies(get_settings())
        services = load_services()
        runtime = Runtime(services, host, port, fire_schedules_now, pollers)
        smtp = SmtpListener(host, smtp_port)
        smtp.start()
        try:
            # Within the try: the gateway answers as soon as its thread runs, and a Ctrl-C from then on (while the
            # pollers are still being started) must stop the stack as cleanly as a later one.
            runtime.start()
            print(f"Local stack (region {REGION}):")
            for service in services:
                print(f"  {service.name:<10} {runtime.url}/{service.base_path}")
            print(f"  {'smtp':<10} {smtp.address}  (mail to {get_settings().mail_address} files a complaint)")
            print(f"  {'moto':<10} {moto.endpoint}  (state: {moto.endpoint}/moto-api/)")
            print("Ctrl-C stops it.", flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            log.info("stopping")
        finally:
            # A second Ctrl-C (or a SIGTERM after the SIGINT) must not cut the shutdown short.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            smtp.stop()
            runtime.stop()
    finally:
        moto.stop()
