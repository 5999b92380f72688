"""Test settings with the failing views of tests.frontend.urls_failing, for a
real server in tests/integration/test_error_request_id.py."""

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "tests.frontend.urls_failing"
