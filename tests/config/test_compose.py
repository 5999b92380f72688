"""The production compose file (docker/compose.yaml; CI also runs
`docker-compose config`): web scales behind the HAProxy balancer, which is
the only way in and the only peer whose X-Forwarded-* a web process believes,
and both probe /healthz."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
HAPROXY = (ROOT / "docker" / "lb" / "haproxy.cfg").read_text()


def _code(path: Path) -> str:
    """A script without its comments."""
    return "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))


def test_web_scales_behind_the_balancer_only():
    web, lb = SERVICES["web"], SERVICES["lb"]
    assert "ports" not in web  # --scale web=N: no host port to collide on, no way around the balancer
    assert "container_name" not in web
    assert lb["image"].startswith("haproxy:")
    assert lb["ports"] == ["${PORT:-8000}:8000"]
    assert "./lb/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in lb["volumes"]
    # Every web container, found through Docker's DNS, checked on /healthz.
    assert re.search(r"^\s*server-template web \d+-\d+ web:8000$", HAPROXY, re.M)
    assert "resolvers docker" in HAPROXY
    assert "http-check send meth GET uri /healthz" in HAPROXY
    assert "timeout tunnel" in HAPROXY  # WebSockets outlive an HTTP timeout


def test_forwarded_headers_are_trusted_from_the_balancer_address_only():
    web, lb = SERVICES["web"], SERVICES["lb"]
    address = lb["networks"]["default"]["ipv4_address"]
    assert web["environment"]["TRUSTED_PROXY"] == address
    subnet = COMPOSE["networks"]["default"]["ipam"]["config"][0]
    # The fixed address is outside the range Docker hands out.
    last = int(address.rsplit(".", 1)[1])
    first_dynamic = int(subnet["ip_range"].split("/")[0].rsplit(".", 1)[1])
    assert last < first_dynamic
    assert web["command"] == ["docker/web/start", "--proxy-headers"]
    # The balancer sets them itself: a client's own are dropped first.
    for header in ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host"):
        assert f"http-request del-header {header}" in HAPROXY
    assert "option forwardfor" in HAPROXY


def test_daphne_proxy_headers_only_in_compose():
    assert "--proxy-headers" not in _code(ROOT / "docker" / "web" / "start")
    assert "--proxy-headers" not in (ROOT / "Procfile").read_text()


def test_web_drains_on_stop_and_migrations_run_once():
    web = SERVICES["web"]
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
    grace = int(web["stop_grace_period"].rstrip("s"))
    assert int(web["environment"]["WEB_DRAIN_SECONDS"]) < grace
    assert web["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "migrate" not in _code(ROOT / "docker" / "web" / "start")
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
