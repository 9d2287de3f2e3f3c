"""``loyalty.cancellation.being_cancelled``: the one answer the long-running loops (gateway workers, the inbox
worker) ask before they carry on after an error."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from loyalty.cancellation import being_cancelled


async def test_a_task_told_to_stop_knows_it_when_a_library_turned_the_cancellation_into_another_error() -> (
    None
):
    # given: a task waiting on a call that answers a cancellation with a ConnectionError (as a Redis call can)
    answers: list[bool] = []
    waiting = asyncio.Event()

    async def call_that_hides_the_cancellation() -> None:
        waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise ConnectionError("connection closed") from None

    async def loop() -> None:
        try:
            await call_that_hides_the_cancellation()
        except ConnectionError:
            answers.append(being_cancelled())
            raise asyncio.CancelledError from None

    # when: the task is told to stop
    task = asyncio.create_task(loop())
    await waiting.wait()
    task.cancel()

    # then: it knew, and stopped
    with pytest.raises(asyncio.CancelledError):
        await task
    assert answers == [True]


async def test_the_end_of_a_helper_task_is_not_a_stop_of_its_caller() -> None:
    # given: the caller cancels a helper task of its own and awaits its end (a lease keeper, a server)
    helper = asyncio.create_task(asyncio.sleep(60))
    await asyncio.sleep(0)
    helper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await helper

    # then: the caller itself is not being cancelled
    assert being_cancelled() is False


async def test_a_cancellation_taken_back_is_no_longer_a_stop() -> None:
    answers: list[bool] = []
    started = asyncio.Event()

    async def loop() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            answers.append(being_cancelled())
            current = asyncio.current_task()
            assert current is not None
            current.uncancel()  # as asyncio.timeout() does when its own deadline cancelled the task
            answers.append(being_cancelled())

    task = asyncio.create_task(loop())
    await started.wait()
    task.cancel()
    await task

    assert answers == [True, False]
