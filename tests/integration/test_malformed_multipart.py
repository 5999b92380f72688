"""A multipart body without a boundary, under the real web process (issue
11, M6). Twisted parsed form bodies before daphne saw the request and
answered one it could not parse with a bare `400 Bad Request`: no headers,
no body, no request id, on any path. Now Django parses the body when a view
reads it, and answers as for any bad request."""

import http.client
import json
import re

import pytest
from rest_framework.authtoken.models import Token

from tests.children import child_env, free_port, listening, python, spawn, stop, wait_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CONTENT_TYPES = ["multipart/form-data", "multipart/form-data; boundary="]


def _send(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body, headers={"Host": "127.0.0.1", **headers})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def test_a_multipart_body_without_boundary_is_answered_by_the_application(tmp_path):
    token = Token.objects.create(user=UserFactory()).key
    port = free_port()
    process = spawn(
        python("-m", "realtime.server", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"),
        name=f"web:{port}",
        log=tmp_path / "web.log",
        env=child_env(),
    )
    try:
        wait_for(lambda: listening(port), timeout=60, what=f"realtime.server on port {port}")
        _, headers, _ = _send(port, "GET", "/accounts/login/", {})
        csrf = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"]).group(1)
        for content_type in CONTENT_TYPES:
            sent = {"Content-Type": content_type}

            # A page whose form is read (by the CSRF check): the site's 400 page.
            status, headers, body = _send(
                port, "POST", "/accounts/login/", {**sent, "Cookie": f"csrftoken={csrf}"}, b"x"
            )
            assert status == 400, (content_type, body[:200])
            assert headers["X-Request-ID"] and headers["X-Request-ID"] in body.decode()
            assert "Bad request" in body.decode() and 'class="brand"' in body.decode()

            # An API view that reads the body: JSON naming the problem (a
            # token client may send JSON only: 415; a session's form, whose
            # parse fails, is a 400: tests/frontend/test_error_pages.py).
            auth = {**sent, "Authorization": f"Token {token}", "Idempotency-Key": "multipart-1"}
            status, headers, body = _send(port, "POST", "/api/v1/trades/quote/", auth, b"x")
            assert status == 415 and headers["Content-Type"] == "application/json"
            assert "Unsupported media type" in json.loads(body)["detail"]
            assert headers["X-Request-ID"]

            # Routes that never read the body answer as they would anyway.
            status, headers, body = _send(port, "POST", "/api/v1/nonexistent/", sent, b"x")
            assert (status, json.loads(body)["code"]) == (404, "not_found")
            assert json.loads(body)["request_id"] == headers["X-Request-ID"]
            status, headers, _ = _send(port, "POST", "/healthz", sent, b"x")
            assert (status, headers["Allow"]) == (405, "GET") and headers["X-Request-ID"]
    finally:
        stop(process, timeout=15)
