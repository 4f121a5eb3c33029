"""Independent reads sent at once: they wait together, each answers (or fails) on its own, and none outlives the
block that started it."""

import threading
import time

import pytest

from shared.core.concurrent_reads import THREADS, Reads


def test_reads_started_together_wait_together() -> None:
    # given as many reads as the threads, each of which returns only once all of them have started
    started = threading.Barrier(THREADS, timeout=5)

    def read(number: int) -> int:
        started.wait()
        return number * 10

    # when they are started in one block
    with Reads() as reads:
        answers = [reads.start(read, number) for number in range(THREADS)]
    # then every one ran at the same time as the others (one after the other, the first would wait for ever)
    # and each answers its own
    assert [answer.result() for answer in answers] == [number * 10 for number in range(THREADS)]


def test_a_failed_read_raises_its_error_where_its_answer_is_asked_for() -> None:
    # given one read that fails and one that answers
    def failing() -> int:
        raise LookupError("no such partition")

    # when both are started
    with Reads() as reads:
        failed = reads.start(failing)
        answered = reads.start(lambda: "rows")
    # then the other read still answers, and the failed one's error comes with its result
    assert answered.result() == "rows"
    with pytest.raises(LookupError, match="no such partition"):
        failed.result()


def test_leaving_the_block_waits_for_every_read_started() -> None:
    # given a slow read whose answer nobody asks for
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.05)
        finished.set()

    # when the block is left, even by an error
    with pytest.raises(RuntimeError), Reads() as reads:
        reads.start(slow)
        raise RuntimeError("the caller failed")
    # then the read had finished by then: none runs on after its caller
    assert finished.is_set()


def test_reads_started_by_reads_go_to_a_second_pool_so_none_waits_for_ever() -> None:
    # given as many reads as the threads, each of which starts two reads of its own, one of which starts another
    def innermost(number: int) -> tuple[int, str]:
        return number, threading.current_thread().name

    def inner(number: int) -> tuple[int, str, tuple[int, str]]:
        with Reads() as reads:
            deeper = reads.start(innermost, number)
        return number + 1, threading.current_thread().name, deeper.result()

    def outer(number: int) -> list[tuple[int, str, tuple[int, str]]]:
        with Reads() as reads:
            started = [reads.start(inner, number), reads.start(inner, number * 10)]
        return [answer.result() for answer in started]

    # when they are started together, every thread of the first pool then busy with one of them (watched from a
    # thread of the test's own, so that reads waiting for ever fail the test instead of hanging it)
    answered: list[list[tuple[int, str, tuple[int, str]]]] = []

    def started_together() -> None:
        with Reads() as reads:
            answers = [reads.start(outer, number) for number in range(THREADS)]
        answered.extend(answer.result() for answer in answers)

    watched = threading.Thread(target=started_together, daemon=True)
    watched.start()
    watched.join(timeout=5)
    # then each has its answers: the reads it started ran in the second pool, and those they started in their thread
    assert [[value for value, _, _ in pair] for pair in answered] == [[n + 1, n * 10 + 1] for n in range(THREADS)]
    for pair in answered:
        for _, thread, (_, deeper_thread) in pair:
            assert thread.startswith("read1") and deeper_thread == thread


def test_a_failed_read_started_by_a_read_fails_where_its_answer_is_asked_for() -> None:
    # given a read that starts a read which fails
    def failing() -> None:
        raise KeyError("gone")

    def outer() -> str:
        with Reads() as reads:
            failed = reads.start(failing)
        with pytest.raises(KeyError):
            failed.result()
        return "handled"

    # when it runs, then the inner error reached it through the result, not through the start
    with Reads() as reads:
        answer = reads.start(outer)
    assert answer.result(timeout=5) == "handled"
