"""Independent reads sent at once.

In region every AWS request is a round trip of 5-10 ms, most of it waiting. Reads that do not depend on each other
(the parts of a report, the panels of a dashboard, the surveys a report adds up) wait together for the slowest
instead of one after the other. boto3's clients are thread-safe; the threads are few and kept for the process, so
a warm Lambda reuses them.

A read that starts reads of its own (a dashboard's trend, read in batches of keys) sends them to threads of a
second pool: queued in its own pool, behind it and every thread waiting like it, they might never run. A read in
the second pool runs the reads it starts itself, one after the other.
"""

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import cache
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# More than a report or a dashboard starts at once (five reads, three); more wait for a free thread.
THREADS = 8

# Reads a caller starts go to pool 0, those they start to pool 1; a read in pool 1 runs those it starts itself.
POOLS = 2
_pooled = threading.local()  # the pool a thread belongs to


@cache
def _threads(level: int) -> ThreadPoolExecutor:
    def mark() -> None:
        _pooled.level = level

    return ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix=f"read{level}", initializer=mark)


def _run_here(read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
    done: Future[T] = Future()
    try:
        done.set_result(read(*args, **kwargs))
    except Exception as error:  # handed to whoever asks for the result, as the pool does
        done.set_exception(error)
    return done


class Reads:
    """`with Reads() as reads: rows = reads.start(read, *args)`, then `rows.result()`, the read's answer or its
    error. Leaving the block waits for every read started in it, so that none outlives its caller."""

    def __init__(self) -> None:
        self._started: list[Future[Any]] = []

    def start(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        level = getattr(_pooled, "level", -1) + 1
        if level == POOLS:
            return _run_here(read, *args, **kwargs)
        future = _threads(level).submit(read, *args, **kwargs)
        self._started.append(future)
        return future

    def __enter__(self) -> "Reads":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        wait(self._started)
