"""Independent reads sent at once.

In region every AWS request is a round trip of 5-10 ms, most of it waiting. Reads that do not depend on each other
(the parts of a report, the panels of a dashboard, the surveys a report adds up) wait together for the slowest
instead of one after the other. boto3's clients are thread-safe; the threads are few and kept for the process, so
a warm Lambda reuses them.

A read started here must not start reads of its own here: with every thread waiting for reads queued behind it,
none would finish.
"""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import cache
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# More than any caller starts at once; a report starts six.
THREADS = 8


@cache
def _threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="read")


class Reads:
    """`with Reads() as reads: rows = reads.start(read, *args)`, then `rows.result()`, the read's answer or its
    error. Leaving the block waits for every read started in it, so that none outlives its caller."""

    def __init__(self) -> None:
        self._started: list[Future[Any]] = []

    def start(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future = _threads().submit(read, *args, **kwargs)
        self._started.append(future)
        return future

    def __enter__(self) -> "Reads":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        wait(self._started)
