"""The web process's garbage-collector policy (realtime/collector.py).

It changes process-wide state (the collector's thresholds, what is frozen),
so each case runs in a fresh interpreter and reports what it saw as JSON;
the test process's own collector is never touched. Pure interpreter
behaviour: no database or Redis involved."""

import json
import subprocess
import sys
import textwrap

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_gc_thresholds
from tests.children import ROOT


def run(code: str) -> dict:
    script = "import gc, json, weakref\nfrom realtime import collector\n" + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_policy_sets_the_thresholds_and_freezes_what_exists():
    seen = run(
        """
        class Marker: pass
        marker = Marker()
        before = any(o is marker for o in gc.get_objects())
        applied = collector.apply((50_000, 2, 3))
        after = any(o is marker for o in gc.get_objects())
        print(json.dumps({"before": before, "after": after, "frozen": applied.frozen,
                          "reported": applied.thresholds, "threshold": gc.get_threshold()}))
        """
    )
    # An object that existed is out of the collector's sight: no collection traverses it.
    assert (seen["before"], seen["after"]) == (True, False)
    assert seen["frozen"] > 1000  # the interpreter's own start-up at least
    assert seen["reported"] == seen["threshold"] == [50_000, 2, 3]


def test_start_up_garbage_is_collected_not_frozen_for_good():
    seen = run(
        """
        class Node: pass
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        gc.disable()  # so that nothing collects it before the policy does
        alive = weakref.ref(a)
        del a, b
        still_there = alive() is not None
        gc.enable()
        collector.apply((50_000, 2, 3))
        print(json.dumps({"before": still_there, "after": alive() is not None}))
        """
    )
    assert seen == {"before": True, "after": False}


def test_garbage_made_after_the_policy_is_still_collected():
    seen = run(
        """
        collector.apply((50_000, 2, 3))
        class Node: pass
        refs = []
        for _ in range(1000):
            a, b = Node(), Node()
            a.other, b.other = b, a
            refs.append(weakref.ref(a))
            del a, b
        gc.collect(0)  # a young collection, as the thresholds run them
        print(json.dumps({"alive": sum(r() is not None for r in refs)}))
        """
    )
    assert seen == {"alive": 0}


def test_python_keeps_cpythons_own_thresholds_and_freezes_nothing():
    seen = run(
        """
        default = gc.get_threshold()
        applied = collector.apply(None)
        print(json.dumps({"default": default, "after": gc.get_threshold(), "frozen": applied.frozen,
                          "reported": applied.thresholds}))
        """
    )
    assert seen["after"] == seen["default"] == seen["reported"]
    assert seen["frozen"] == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("50000,2,3", (50_000, 2, 3)), (" 700, 10 ,10 ", (700, 10, 10)), ("python", None)],
)
def test_the_setting_reads_three_thresholds_or_python(monkeypatch, raw, expected):
    monkeypatch.setenv("WEB_GC_THRESHOLDS", raw)
    assert env_gc_thresholds("WEB_GC_THRESHOLDS", "1,1,1") == expected


@pytest.mark.parametrize(
    "raw", ["", "50000", "50000,2", "50000,2,3,4", "0,2,3", "-1,2,3", "a,b,c", "1.5,2,3"]
)
def test_a_malformed_setting_is_refused_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("WEB_GC_THRESHOLDS", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^WEB_GC_THRESHOLDS must be three positive integers"):
        env_gc_thresholds("WEB_GC_THRESHOLDS", "50000,2,3")
