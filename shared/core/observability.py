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

logger = Logger(service="hotspot")


def tracing_enabled() -> bool:
    # X-Ray does not exist in AWS China regions nor locally: those stages set POWERTOOLS_TRACE_DISABLED=true.
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() != "true"


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


def count(name: str, value: int = 1) -> None:
    """One CloudWatch metric (namespace `Hotspot`), written at once as an embedded-metric log line."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace="Hotspot") as metric:
        metric.add_dimension(name="service", value=os.environ.get("POWERTOOLS_SERVICE_NAME", "hotspot"))
