"""Rate limits (core/throttling.py): a sliding window from two fixed-window
counters in Redis, every limit of a request in one round trip, refused
requests taken back."""

from contextlib import contextmanager

import pytest
from redis.connection import AbstractConnection
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core.redis import redis_client
from core.throttling import Limit, estimate, limit_for, take, wait_seconds
from tests.factories import UserFactory

MINUTE = 60
T0 = 1_000_000 * MINUTE  # the start of a window


def test_the_previous_window_counts_by_the_share_still_inside():
    assert estimate(previous=10, current=3, elapsed=0, duration=MINUTE) == 13
    assert estimate(previous=10, current=3, elapsed=45, duration=MINUTE) == 5.5
    assert estimate(previous=0, current=3, elapsed=59, duration=MINUTE) == 3


def test_the_wait_is_until_one_more_request_fits():
    limit = Limit(name="x", allowed=10, duration=MINUTE)
    # 10 last window, 4 here + the refused one, 30 s in: 10 x (1 - t/60) + 5 <= 10 at t = 30.
    assert wait_seconds(limit, previous=10, current=5, elapsed=30) == 0
    assert wait_seconds(limit, previous=10, current=5, elapsed=15) == 15
    # This window is full (10 + the refused one): the next window, once 10 x (1 - t/60) + 1 <= 10.
    assert wait_seconds(limit, previous=0, current=11, elapsed=50) == pytest.approx(10 + 6)
    # A rate of 0 never fits: wait a window.
    assert wait_seconds(Limit(name="x", allowed=0, duration=MINUTE), 0, 1, 10) == MINUTE


@pytest.fixture
def limit(settings):
    found = limit_for("t", "user:1", "2/min")
    assert found is not None
    return found


def _count(limit: Limit, window: int) -> int:
    return int(redis_client().get(f"{limit.name}:{window}") or 0)


def test_a_rate_allows_that_many_then_refuses_and_a_refused_request_does_not_count(limit):
    assert [take([limit], T0 + 1), take([limit], T0 + 2)] == [None, None]
    refused = take([limit], T0 + 3)
    # Next window, 2 x (1 - t/60) + 1 <= 2 at t = 30 s.
    assert refused == pytest.approx(MINUTE - 3 + MINUTE / 2)
    assert _count(limit, T0 // MINUTE) == 2
    # Half a minute into the next window, the previous window's 2 weigh 1: one more fits, not two.
    assert take([limit], T0 + MINUTE + 30) is None
    assert take([limit], T0 + MINUTE + 31) is not None


def test_the_counters_expire_after_two_windows(limit):
    take([limit], T0 + 1)
    ttl = redis_client().ttl(f"{limit.name}:{T0 // MINUTE}")
    assert MINUTE < ttl <= 2 * MINUTE + 1


def test_when_one_limit_refuses_none_of_the_request_counts(limit):
    roomy = limit_for("t", "user:1:roomy", "100/min")
    assert roomy is not None
    take([limit], T0 + 1)
    take([limit], T0 + 2)
    assert take([roomy, limit], T0 + 3) is not None
    assert (_count(roomy, T0 // MINUTE), _count(limit, T0 // MINUTE)) == (0, 2)


@contextmanager
def round_trips():
    """Counts what the process's Redis clients send: a pipeline is one send."""
    sent = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = original


@contextmanager
def rates(**scoped: str):
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, **scoped}
    try:
        yield
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original


DEPOSITS = "/api/v1/wallets/deposits/"


def _deposit(client: APIClient, key: str):
    body = '{"amount": "1.00", "currency": "USD"}'
    return client.post(DEPOSITS, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_a_write_checks_the_user_and_its_scope_in_one_round_trip():
    client = APIClient()
    client.force_authenticate(UserFactory())
    _deposit(client, "warm")
    with round_trips() as sent:
        assert _deposit(client, "counted").status_code == 201
    throttled = [command for command in sent if b"throttle" in b"".join(command)]
    assert len(throttled) == 1, sent
    keys = sorted(key.split(":")[2] for key in redis_client().keys("*:throttle:*"))
    assert keys == ["money", "user"]


@pytest.mark.django_db
def test_over_the_scope_rate_is_a_429_with_retry_after_and_reads_still_pass():
    client = APIClient()
    client.force_authenticate(UserFactory())
    with rates(money="2/min"):
        codes = [_deposit(client, f"k{i}").status_code for i in range(3)]
        refused = _deposit(client, "k3")
        assert codes == [201, 201, 429]
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 2 * MINUTE
        assert client.get("/api/v1/wallets/").status_code == 200  # a read counts against the user limit only


@pytest.mark.django_db
def test_anonymous_clients_are_limited_by_address_and_users_are_not():
    with rates(anon="2/min"):
        anonymous = APIClient(REMOTE_ADDR="203.0.113.9")
        assert [anonymous.get("/api/v1/realtime/asyncapi.yaml").status_code for _ in range(3)][-1] == 429
        other = APIClient(REMOTE_ADDR="203.0.113.10")
        assert other.get("/api/v1/realtime/asyncapi.yaml").status_code == 200
        user = APIClient(REMOTE_ADDR="203.0.113.9")
        user.force_authenticate(UserFactory())
        assert user.get("/api/v1/realtime/asyncapi.yaml").status_code == 200
