"""realtime.coalesce: calls made while a round trip is out share the next one.
Pure logic (the fetch here is a function of this file); the real round trips
it batches are tested in test_services.py, test_selectors.py and
test_consumers_auth.py."""

import asyncio

import pytest

from realtime.coalesce import Coalescer


class Recorder:
    """A fetch that records each batch and can be held until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail_next: Exception | None = None

    async def __call__(self, keys: list[str]) -> list[str]:
        self.batches.append(list(keys))
        await self.release.wait()
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        return [key.upper() for key in keys]


def held() -> tuple[Recorder, Coalescer[str, str]]:
    """A coalescer whose round trips wait until `fetch.release` is set."""
    fetch = Recorder()
    fetch.release.clear()
    return fetch, Coalescer(fetch)


async def test_calls_made_in_the_same_turn_share_one_round_trip_in_call_order():
    fetch = Recorder()
    coalescer = Coalescer(fetch)
    results = await asyncio.gather(*(coalescer.get(key) for key in ["a", "b", "a", "c"]))
    assert results == ["A", "B", "A", "C"]
    assert fetch.batches == [["a", "b", "a", "c"]]  # duplicates kept: each call has its answer
    assert coalescer.round_trips == 1


async def test_a_lone_call_is_sent_at_once():
    fetch = Recorder()
    coalescer = Coalescer(fetch)
    assert await asyncio.wait_for(coalescer.get("x"), timeout=1) == "X"
    assert fetch.batches == [["x"]]


async def test_calls_made_while_a_batch_is_out_wait_and_go_together():
    fetch, coalescer = held()
    first = asyncio.ensure_future(coalescer.get("first"))
    await asyncio.sleep(0.01)
    assert fetch.batches == [["first"]]  # out, and held
    later = [asyncio.ensure_future(coalescer.get(key)) for key in ["p", "q", "r"]]
    await asyncio.sleep(0.01)
    assert fetch.batches == [["first"]]  # nobody else went while it was out
    fetch.release.set()
    assert await first == "FIRST"
    assert await asyncio.gather(*later) == ["P", "Q", "R"]
    assert fetch.batches == [["first"], ["p", "q", "r"]]


async def test_a_failed_round_trip_fails_each_of_its_callers_and_the_next_one_starts_afresh():
    fetch = Recorder()
    fetch.fail_next = ConnectionError("redis went away")
    coalescer = Coalescer(fetch)
    outcomes = await asyncio.gather(coalescer.get("a"), coalescer.get("b"), return_exceptions=True)
    assert [type(o) for o in outcomes] == [ConnectionError, ConnectionError]
    assert await coalescer.get("c") == "C"
    assert fetch.batches == [["a", "b"], ["c"]]


async def test_batches_are_split_at_max_batch():
    fetch = Recorder()
    coalescer = Coalescer(fetch, max_batch=2)
    assert await asyncio.gather(*(coalescer.get(k) for k in "abcde")) == list("ABCDE")
    assert fetch.batches == [["a", "b"], ["c", "d"], ["e"]]


async def test_a_caller_that_goes_away_leaves_the_others_their_answers():
    fetch, coalescer = held()
    gone = asyncio.ensure_future(coalescer.get("gone"))
    stays = asyncio.ensure_future(coalescer.get("stays"))
    await asyncio.sleep(0.01)
    gone.cancel()
    fetch.release.set()
    assert await stays == "STAYS"
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_a_fetch_that_answers_the_wrong_number_of_keys_is_an_error_not_a_misattribution():
    async def short(keys: list[str]) -> list[str]:
        return keys[:-1]

    coalescer = Coalescer(short)
    outcomes = await asyncio.gather(coalescer.get("a"), coalescer.get("b"), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) and "1 results for 2 keys" in str(o) for o in outcomes)


async def test_when_the_sender_itself_is_cancelled_nobody_is_left_waiting():
    fetch, coalescer = held()
    out = asyncio.ensure_future(coalescer.get("out"))
    await asyncio.sleep(0.01)
    queued = asyncio.ensure_future(coalescer.get("queued"))
    await asyncio.sleep(0.01)
    (queue,) = coalescer._queues.values()
    assert queue.sender is not None
    queue.sender.cancel()
    for caller in (out, queued):
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(caller, timeout=1)
    fetch.release.set()
    assert await coalescer.get("after") == "AFTER"  # a new sender starts
