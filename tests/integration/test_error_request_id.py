"""Under the real web process (ASGI, JSON logs): the request id a user sees on
a 500 page is on the log line with the traceback, and on a 404's line too."""

import json
import urllib.error
import urllib.request
from email.message import Message

import pytest

from tests.children import child_env, free_port, listening, python, spawn, stop, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def fetch(url: str, request_id: str | None = None) -> tuple[int, Message, str]:
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id} if request_id else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def log_lines(path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_500_and_404_log_lines_carry_the_request_id_of_the_response(tmp_path):
    port, log = free_port(), tmp_path / "web.log"
    process = spawn(
        python("-m", "realtime.server", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"),
        name=f"web:{port}",
        log=log,
        env=child_env(DJANGO_SETTINGS_MODULE="tests.frontend.settings_failing", LOG_FORMAT="json"),
    )
    try:
        wait_for(lambda: listening(port), timeout=60, what=f"realtime.server on port {port}")
        status, headers, page = fetch(f"http://127.0.0.1:{port}/boom/")
        assert status == 500
        request_id = headers["X-Request-ID"]
        assert request_id in page and "Something went wrong" in page and "RuntimeError" not in page

        status, headers, body = fetch(f"http://127.0.0.1:{port}/api/v1/nothing/", "client-trace-0001")
        assert (status, json.loads(body)["request_id"]) == (404, "client-trace-0001")
    finally:
        stop(process, timeout=15)

    requests = [line for line in log_lines(log) if line["logger"] == "django.request"]
    [error] = [line for line in requests if line["level"] == "ERROR"]
    assert error["request_id"] == request_id
    assert "RuntimeError: boom for the error-page test" in error["exc"]
    [not_found] = [line for line in requests if line["level"] == "WARNING"]
    assert not_found["request_id"] == "client-trace-0001"
