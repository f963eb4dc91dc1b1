"""`autodl dashboard`: optuna-dashboard on a storage, bound to this machine unless asked."""

from __future__ import annotations

import argparse
import sys

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from autodl.cli._study import add_storage_arguments

    add_storage_arguments(parser)
    parser.add_argument(
        "--out", help="the output folder of a search (its study.journal), instead of --storage"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )


def run(args: argparse.Namespace) -> int:
    import socket
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    import optuna
    import optuna_dashboard

    from autodl.cli._study import load_study, open_storage
    from autodl.exceptions import ConfigError

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535; got {args.port}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    opened = open_storage(args.storage, args.out)
    study = load_study(opened, args.study_name) if args.study_name else None
    debug = bool(getattr(args, "debug", False))

    class Handler(WSGIRequestHandler):
        def log_message(self, format: str, *log_args: object) -> None:  # noqa: A002
            if debug:  # one line per request is noise unless debugging
                super().log_message(format, *log_args)

    class Server(WSGIServer):
        # IPv6 hosts need the IPv6 family; wsgiref's default is IPv4 only.
        address_family = socket.AF_INET6 if ":" in args.host else socket.AF_INET

    try:
        server = make_server(
            args.host,
            args.port,
            optuna_dashboard.wsgi(opened.storage),
            server_class=Server,
            handler_class=Handler,
        )
    except OSError as exc:
        raise ConfigError(
            f"--port {args.port}: cannot listen on {args.host}: {exc.strerror}"
        ) from None
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{server.server_port}/dashboard/"
    if study is not None:
        url += f"studies/{opened.storage.get_study_id_from_name(study.study_name)}"
    print(f"optuna-dashboard for {opened.url} at {url}", flush=True)
    if args.host not in LOOPBACK:
        print(
            "note: anyone who can reach this address can read and change the studies",
            file=sys.stderr,
        )
    print("press Ctrl-C to stop", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        server.server_close()
    return 0
