"""Two installations on one Redis server, in different databases, must not
hear each other on the channel layer: pub/sub channels ignore the database."""

import subprocess
import sys

import pytest


def _prefix(**env: str) -> str:
    code = "from django.conf import settings; print(settings.CHANNEL_LAYERS['default']['CONFIG']['prefix'])"
    clean = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.local", **env}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"REDIS_URL": "redis://127.0.0.1:6379/12"}, "tv12"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/13"}, "tv13"),
        ({"REDIS_URL": "redis://127.0.0.1:6379"}, "tv0"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/2", "CACHE_PREFIX": "shop"}, "shop2"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/2", "CHANNEL_PREFIX": "mine"}, "mine"),
    ],
)
def test_the_layer_prefix_follows_the_installation(env, expected):
    assert _prefix(DATABASE_URL="postgres://postgres@127.0.0.1:5432/x", **env) == expected
