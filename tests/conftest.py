"""Shared fixtures. Tests run on real PostgreSQL and Redis (DATABASE_URL,
REDIS_URL; `./dev.py test` provides embedded ones when unset)."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory


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
