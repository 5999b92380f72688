"""The kernel stands alone: importing its error types starts no Celery app
and chooses no settings module, so a script or a worker helper can raise and
catch them without the project being configured."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, sys
import core.errors
from core.errors import Conflict, DomainError, IdempotencyMismatch, NotFound
print(json.dumps({
    "celery": sorted(m for m in sys.modules if m == "celery" or m.startswith("celery.")),
    "config": sorted(m for m in sys.modules if m == "config" or m.startswith("config.")),
    "django_settings_module": os.environ.get("DJANGO_SETTINGS_MODULE"),
}))
"""


def test_importing_the_error_types_imports_no_celery_and_sets_no_settings_module():
    # A clean environment: no DJANGO_SETTINGS_MODULE inherited from pytest.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{PROBE}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    seen = json.loads(result.stdout)
    assert seen == {"celery": [], "config": [], "django_settings_module": None}
