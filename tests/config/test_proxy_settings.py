"""Django reads the scheme and host from X-Forwarded-* only when TRUSTED_PROXY
names the balancer (whose headers are then the only ones that reach it:
realtime/daphne_server.py strips them from every other peer)."""

import subprocess

import pytest

from tests.children import child_env, python

PRINT = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.TRUSTED_PROXY, settings.USE_X_FORWARDED_HOST, settings.SECURE_PROXY_SSL_HEADER)"
)


@pytest.mark.parametrize(
    ("module", "value", "expected"),
    [
        ("config.settings.production", None, "[] False None"),
        (
            "config.settings.production",
            "172.31.240.10",
            "['172.31.240.10/32'] True ('HTTP_X_FORWARDED_PROTO', 'https')",
        ),
        (
            "config.settings.local",
            "10.0.0.0/8, ::1",
            "['10.0.0.0/8', '::1/128'] True ('HTTP_X_FORWARDED_PROTO', 'https')",
        ),
    ],
)
def test_forwarded_headers_are_read_only_with_a_trusted_proxy(module, value, expected):
    env = child_env(DJANGO_SETTINGS_MODULE=module, SECRET_KEY="test-only")
    env.pop("TRUSTED_PROXY", None)
    if value is not None:
        env["TRUSTED_PROXY"] = value
    out = subprocess.run(python("-c", PRINT), env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


def test_a_trusted_proxy_that_is_no_address_is_refused_at_start():
    env = child_env(DJANGO_SETTINGS_MODULE="config.settings.local", TRUSTED_PROXY="lb.internal")
    out = subprocess.run(python("-c", PRINT), env=env, capture_output=True, text=True, check=False)
    assert out.returncode != 0
    assert "TRUSTED_PROXY: 'lb.internal' is not an IP address or network" in out.stderr
