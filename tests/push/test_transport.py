"""Pushes go only to public addresses, and never follow a redirect: the
worker POSTs to a URL a user gave (push/transport.py)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from push.counters import Outcome
from push.models import PushSubscription
from push.services import push_deliver, subscription_save
from push.transport import EndpointRefused, host_check
from tests.push.test_api import b64, p256dh

pytestmark = pytest.mark.django_db


def _subscription(user, endpoint: str) -> PushSubscription:
    subscription, _ = subscription_save(
        user_id=user.pk, endpoint=endpoint, p256dh=p256dh(), auth=b64(bytes(16))
    )
    return subscription


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/x",
        "https://localhost./x",  # a trailing dot is the same name
        "https://127.0.0.1/x",
        "https://10.0.0.1/x",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
    ],
)
def test_a_host_that_is_or_resolves_to_a_private_address_is_refused(settings, url):
    settings.PUSH_ALLOW_HTTP_LOOPBACK = False
    with pytest.raises(EndpointRefused):
        host_check(url)


@pytest.mark.parametrize("url", ["https://push.example.net:99999/x", "https://push.example.net:0/x"])
def test_a_port_outside_the_range_is_refused_at_send_time(settings, url):
    """Saved before the API refused such ports (it now answers 400)."""
    settings.PUSH_ALLOW_HTTP_LOOPBACK = False
    with pytest.raises(EndpointRefused):
        host_check(url)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00::1"])
def test_a_public_name_that_resolves_privately_at_send_time_is_sent_nothing(
    settings, user, monkeypatch, address
):
    """The name passed every check when saved; its DNS record now points
    inside. Nothing leaves the worker, and the subscription is deleted."""
    import socket

    import requests

    subscription = _subscription(user, "https://push.example.net/send/rebound")
    settings.PUSH_ALLOW_HTTP_LOOPBACK = False
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    looked_up: list[str] = []

    def getaddrinfo(host, *args, **kwargs):
        looked_up.append(host)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, 443))]

    sent: list[object] = []
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(
        requests.adapters.HTTPAdapter, "send", lambda self, request, **kw: sent.append(request)
    )
    assert push_deliver(subscription_id=subscription.pk, payload={"title": "x"}) == Outcome.FAILED
    assert looked_up == ["push.example.net"]
    assert sent == []
    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()


def test_a_subscription_whose_host_resolves_privately_is_deleted_not_retried(settings, user):
    """Saved as a public-looking name; at send time it resolves to loopback."""
    subscription = _subscription(user, "https://localhost./send/1")
    settings.PUSH_ALLOW_HTTP_LOOPBACK = False
    assert push_deliver(subscription_id=subscription.pk, payload={"title": "x"}) == Outcome.FAILED
    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()


class _Redirecting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self) -> None:
        self.hits.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/start":
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
        else:
            self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_redirect_is_a_refusal_and_is_not_followed(user):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Redirecting.hits = []
    try:
        subscription = _subscription(user, f"http://127.0.0.1:{server.server_port}/start")
        assert push_deliver(subscription_id=subscription.pk, payload={"title": "x"}) == Outcome.FAILED
    finally:
        server.shutdown()
        server.server_close()
    assert _Redirecting.hits == ["/start"]


def test_a_browser_taken_over_at_the_limit_keeps_the_subscription_just_saved(settings, user):
    """The endpoint was another user's (an old, low id); this user already has
    the maximum. The one just saved stays; this user's oldest other goes."""
    from tests.factories import UserFactory

    settings.PUSH_MAX_SUBSCRIPTIONS_PER_USER = 3
    shared = _subscription(UserFactory(), "https://push.example.net/send/shared-browser")
    mine = [_subscription(user, f"https://push.example.net/send/{n}") for n in range(3)]
    taken = _subscription(user, "https://push.example.net/send/shared-browser")
    assert taken.pk == shared.pk
    assert set(PushSubscription.objects.filter(user=user).values_list("pk", flat=True)) == {
        shared.pk,
        mine[1].pk,
        mine[2].pk,
    }
