"""Shared fixtures. Tests run on real PostgreSQL and Redis (DATABASE_URL,
REDIS_URL; `./dev.py test` provides embedded ones when unset)."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from tests import children
from tests.factories import UserFactory


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No process a test started may outlive the run: any still alive (found
    by the run's mark in its environment, orphans included) is killed, named,
    and fails the run."""
    left = children.reap_leftovers()
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = "processes started by this test run outlived it (killed now):\n  " + "\n  ".join(left)
    if reporter is not None:
        reporter.write_sep("=", "leftover processes", red=True)
        reporter.write_line(message)
    else:
        print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _forget_exited_children() -> Iterator[None]:
    yield
    children.forget_exited()


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Latest prices, tickets and throttles live in the cache: start each test empty."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def redis_url() -> str:
    return settings.REDIS_URL
