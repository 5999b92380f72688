"""The test suite's own process handling (tests/children.py): children get
the parent's connection settings whatever form the URL takes, a test waiting
on a child that died fails at once with the child's log, and no process a
run started outlives it."""

import os
import subprocess
import sys
import textwrap

import dj_database_url
import pytest
import redis

from config.env import with_database
from tests import children

# Most of these start processes: they belong to the new-user run of .ci/run.
pytestmark = pytest.mark.integration

URLS = [
    # The embedded server of ./dev.py: a Unix-socket directory as host.
    "postgres://postgres@%2Fwork%2Fmain%2F.data%2Fpg18/tradevision",
    # A password with every character that needs escaping, and a port.
    "postgres://app:p%40ss%3Aw%2Fo%3Frd%23%25@db.internal:6432/tradevision",
    # Query options (TLS, a connection name) must survive.
    "postgresql://app:secret@10.0.0.5:5432/tradevision?sslmode=require&application_name=web",
    "postgres://app@localhost/tradevision",
]


@pytest.mark.parametrize("url", URLS)
def test_child_database_url_changes_only_the_database_name(url):
    original = dj_database_url.parse(url)
    child = dj_database_url.parse(with_database(url, "test_tradevision"))
    assert child["NAME"] == "test_tradevision"
    assert {k: v for k, v in child.items() if k != "NAME"} == {
        k: v for k, v in original.items() if k != "NAME"
    }


def test_a_password_with_special_characters_reaches_the_child_decoded():
    child = dj_database_url.parse(with_database(URLS[1], "x"))
    assert (child["USER"], child["PASSWORD"], child["HOST"], child["PORT"]) == (
        "app",
        "p@ss:w/o?rd#%",
        "db.internal",
        6432,
    )


def test_options_are_added_to_those_the_url_has():
    url = children.with_options(URLS[2], connect_timeout="5")
    assert url.endswith("?sslmode=require&application_name=web&connect_timeout=5")
    assert dj_database_url.parse(url)["OPTIONS"] == {
        "sslmode": "require",
        "application_name": "web",
        "connect_timeout": 5,  # dj-database-url reads this one as a number
    }


def test_redis_url_is_passed_through_as_written(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", URLS[0])
    settings.REDIS_URL = "rediss://:s%40cret@cache.internal:6380/3"
    env = children.child_env()
    assert env["REDIS_URL"] == "rediss://:s%40cret@cache.internal:6380/3"
    client = redis.Redis.from_url(env["REDIS_URL"])
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["password"], kwargs["host"], kwargs["port"], kwargs["db"]) == (
        "s@cret",
        "cache.internal",
        6380,
        3,
    )


@pytest.mark.django_db
def test_a_child_connects_to_the_test_database_through_the_url_it_is_given(tmp_path):
    """Whatever this run's DATABASE_URL is (a TCP host in CI, the embedded
    server's socket for a new user), a child reaches the test database."""
    from django.db import connection

    code = "import os, psycopg; print(psycopg.connect(os.environ['DATABASE_URL']).info.dbname)"
    env = children.child_env()
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == connection.settings_dict["NAME"]


def test_waiting_on_a_child_that_died_fails_at_once_with_its_log(tmp_path):
    log = tmp_path / "child.log"
    children.spawn(
        children.python("-c", "print('database \"nope\" does not exist', flush=True); raise SystemExit(3)"),
        name="doomed",
        log=log,
        env=dict(os.environ),
    )
    with pytest.raises(children.ChildFailed) as failure:
        children.wait_for(lambda: False, timeout=300, what="something the child would do")
    message = str(failure.value)
    assert "doomed" in message
    assert "exited with code 3" in message
    assert 'database "nope" does not exist' in message


def test_a_child_stopped_by_the_test_is_no_failure(tmp_path):
    proc = children.spawn(
        children.python("-c", "import time; time.sleep(60)"), name="sleeper", log=None, env=dict(os.environ)
    )
    assert children.stop(proc, timeout=5) != 0
    assert children.wait_for(lambda: "done", timeout=1, what="nothing") == "done"


def test_a_process_that_outlives_the_run_fails_it_and_is_killed(tmp_path):
    """A nested pytest run (with a mark of its own) whose test starts an
    orphan: the session guard names it, kills it and fails the run."""
    pid_file = tmp_path / "orphan.pid"
    test_file = tmp_path / "test_orphan.py"
    test_file.write_text(
        textwrap.dedent(
            f"""
            import subprocess, sys

            def test_leaves_a_process_behind():
                proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
                open({str(pid_file)!r}, "w").write(str(proc.pid))
            """
        )
    )
    conftest = tmp_path / "conftest.py"
    conftest.write_text("from tests.conftest import pytest_sessionfinish  # noqa: F401\n")
    env = dict(os.environ)  # the nested run takes a mark of its own
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-c", os.devnull, str(test_file)],
        cwd=children.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    orphan = int(pid_file.read_text())
    assert result.returncode == 1, result.stdout + result.stderr
    assert "leftover processes" in result.stdout
    assert f"pid {orphan}: " in result.stdout
    assert "time.sleep(300)" in result.stdout
    assert not _alive(orphan)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
