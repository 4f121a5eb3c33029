"""Logging and tracing, configured from the POWERTOOLS_* environment variables.

Handlers use these objects directly rather than Powertools' decorators, which expect (event, context)
while Chalice calls handler(event). Never log complaint text or personal data: log tracking numbers.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from shared.core.aws import client

logger = Logger(service="hotspot")


def tracing_enabled() -> bool:
    # X-Ray does not exist in AWS China regions nor locally: those stages set POWERTOOLS_TRACE_DISABLED=true.
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() != "true"


def metrics_enabled() -> bool:
    # On Lambda only: elsewhere (the local stack, the CLI, tests) stdout is not read by CloudWatch.
    disabled = os.environ.get("POWERTOOLS_METRICS_DISABLED", "false").lower() == "true"
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ and not disabled


def namespace() -> str:
    """The stage's metric namespace (POWERTOOLS_METRICS_NAMESPACE: the service stacks and `--stage` set it)."""
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "hotspot")


def count(name: str, value: int = 1, **dimensions: str) -> None:
    """Add to one of the figures operators watch (METRICS; the stage's dashboard shows them), as a CloudWatch
    embedded metric in the log, in the namespace the stage sets (POWERTOOLS_METRICS_NAMESPACE)."""
    if value <= 0 or not metrics_enabled():
        return
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=namespace()) as metric:
        for dimension, dimension_value in dimensions.items():
            metric.add_dimension(dimension, dimension_value)


def record(name: str, value: int, **dimensions: str) -> None:
    """The same figure from a process whose log CloudWatch does not read (the `hotspot` CLI's repairs): put
    directly, with the operator's credentials, in the stage's namespace (moto keeps it for the local stack)."""
    client("cloudwatch").put_metric_data(
        Namespace=namespace(),
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": key, "Value": dimension} for key, dimension in dimensions.items()],
                "Value": value,
                "Unit": "Count",
            }
        ],
    )


# The figures `count` takes, and their dimensions: what the dashboard shows (infra/cdk/resources_stack.py).
METRICS = {
    "ComplaintsReceived": ("channel",),
    "ComplaintsQuarantined": ("channel",),
    # Inbound requests refused by the cheap checks before anything was stored (shared/core/ratelimit.py): a flood.
    "InboundRefused": ("scope",),
    "ComplaintsRouted": (),
    "NoticesSent": ("channel",),
    "NoticesFailed": ("channel",),
    # Every SMS handed to the provider (shared/routing/sms.py): the stage alarms on the share that fails.
    "SmsSent": ("provider",),
    "SmsFailed": ("provider",),
    # Messages `hotspot redrive` moved back from a dead-letter queue (recorded by the CLI, `record`).
    "DlqRedriven": ("queue",),
    "Reminders": ("point",),
    "Escalations": (),
    # A scheduled run's item that failed and was skipped (shared/core/batch.py), a case item that cannot be read.
    "ScheduledItemFailed": (),
    "UnreadableCase": (),
}


@cache
def _tracer() -> Any:
    # Imported only where tracing is on: the X-Ray SDK alone costs about 0.3 s of cold start.
    from aws_lambda_powertools import Tracer

    return Tracer(service="hotspot")


@contextmanager
def traced(name: str) -> Iterator[None]:
    """An X-Ray subsegment around a unit of work, where tracing exists; nothing otherwise."""
    if not tracing_enabled():
        yield
        return
    with _tracer().provider.in_subsegment(name):
        yield
