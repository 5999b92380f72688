"""The web process: daphne, one or several on one port.

    python -m realtime.server [--processes N] [--drain-seconds S] <daphne's own arguments>

(Procfile, docker/web/start, the test suites.)

- Without `--processes`, or with 1: one daphne process
  (realtime/daphne_server.py): every WebSocket ends in a close frame with
  its code and reason, SIGTERM drains (WebSockets closed with 1012, requests
  in flight finished, exit), and `X-Forwarded-*` is honoured only from
  `TRUSTED_PROXY`.
- With `--processes N` (N > 1) and `-b HOST -p PORT`: this process creates
  the listening socket once and runs N of those daphne processes on it
  (realtime/supervisor.py: standard library only, so nothing is imported
  here that a supervisor does not need).

`--drain-seconds` (default 10): how long a draining process waits for its
connections to close before it exits anyway.

The options after `--inherited-fd` are between the supervisor and its
children; nobody else passes them.
"""

from __future__ import annotations

import argparse
import sys

DEFAULT_DRAIN_SECONDS = 10.0


def own_options(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """(this launcher's options, daphne's arguments in their order)."""
    parser = argparse.ArgumentParser(prog="python -m realtime.server", add_help=False, allow_abbrev=False)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--drain-seconds", type=float, default=DEFAULT_DRAIN_SECONDS)
    parser.add_argument("--inherited-fd", type=int, default=None)
    parser.add_argument("--ready-fd", type=int, default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    return parser.parse_known_args(argv)


def bind_options(daphne_argv: list[str]) -> tuple[str, int, list[str]]:
    """(host, port, the other arguments) of daphne's `-b`/`-p`: the
    supervisor binds them itself and hands the socket to its children."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("-b", "--bind", dest="host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8000)
    for taken in ("-u", "--unix-socket", "--fd", "-e", "--endpoint"):
        if taken in daphne_argv:
            raise SystemExit(f"realtime.server: --processes serves -b/-p only, not {taken}")
    bound, rest = parser.parse_known_args(daphne_argv)
    return bound.host, bound.port, rest


def main(argv: list[str]) -> int:
    options, daphne_argv = own_options(argv)
    if options.processes < 1:
        raise SystemExit("realtime.server: --processes must be 1 or more")
    if options.processes > 1:
        from realtime.supervisor import supervise

        host, port, rest = bind_options(daphne_argv)
        return supervise(
            host=host,
            port=port,
            count=options.processes,
            drain_seconds=options.drain_seconds,
            daphne_argv=rest,
        )
    from realtime.daphne_server import serve

    serve(
        daphne_argv,
        drain_seconds=options.drain_seconds,
        inherited_fd=options.inherited_fd,
        ready_fd=options.ready_fd,
        parent_pid=options.parent_pid,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
