"""`./dev.py run` (config.settings.local) serves without DEBUG unless DEBUG=1."""

import subprocess

import pytest

from tests.children import child_env, python

PRINT_DEBUG = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


@pytest.mark.parametrize(("value", "expected"), [(None, "False"), ("1", "True"), ("0", "False")])
def test_local_settings_debug(value, expected):
    env = child_env(DJANGO_SETTINGS_MODULE="config.settings.local")
    env.pop("DEBUG", None)
    if value is not None:
        env["DEBUG"] = value
    out = subprocess.run(python("-c", PRINT_DEBUG), env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected
