"""领导留言板智慧大屏: serve the screens and API, create the database, import records.

python app.py [serve] [--db FILE] [--host H] [--port P]
python app.py init [--empty] [--force]
python app.py import KIND FILE...
python app.py user add NAME --role national|province|wall [--province P] [--sso] | user list | user remove NAME
python app.py writer [--redis URL]             scale-out: the one writer (see scaleout/)
python app.py web --redis URL [--writer URL]   scale-out: a stateless web process
python app.py brief [--period week|month|quarter|START:END] [--province P] [--out FILE.pdf|FILE.docx]
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import signal
import sys
from pathlib import Path

from settings import Settings, describe


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liuyan-screen",
        description="领导留言板 网上群众工作智慧大屏 (message board smart screen)",
        epilog="Environment variables:\n" + describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a flag given before the subcommand is not reset by the subcommand's default.
    common.add_argument("--db", default=argparse.SUPPRESS, help="DuckDB file (LIUYAN_DB)")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", parents=[common], help="serve the screens and the API (default)")
    for p, default in ((parser, None), (serve, argparse.SUPPRESS)):
        p.add_argument("--host", default=default, help="listen address (LIUYAN_HOST)")
        p.add_argument("--port", type=int, default=default, help="listen port (LIUYAN_PORT)")
        p.add_argument(
            "--no-simulate",
            dest="simulate",
            action="store_const",
            const=False,
            default=default,
            help="do not run the live simulator on the demo database (LIUYAN_SIMULATE=0)",
        )
        p.add_argument(
            "--sim-speed", type=float, default=default, help="simulator speed factor, 1 = real time (LIUYAN_SIM_SPEED)"
        )
    parser.add_argument("--db", help="DuckDB file (LIUYAN_DB)")
    init = sub.add_parser("init", parents=[common], help="create the database (demo data unless --empty)")
    init.add_argument("--empty", action="store_true", help="create an empty database, no demo data")
    init.add_argument("--force", action="store_true", help="replace an existing database file")
    writer = sub.add_parser("writer", parents=[common], help="scale-out: the one writer, publishing to Redis")
    web = sub.add_parser("web", help="scale-out: a stateless web process serving walls from Redis")
    for p in (writer, web):
        p.add_argument("--host", default=argparse.SUPPRESS, help="listen address (LIUYAN_HOST)")
        p.add_argument("--port", type=int, default=argparse.SUPPRESS, help="listen port (LIUYAN_PORT)")
        p.add_argument("--redis", dest="redis_url", default=argparse.SUPPRESS, help="Redis URL (LIUYAN_REDIS_URL)")
    writer.add_argument("--no-simulate", dest="simulate", action="store_const", const=False, default=argparse.SUPPRESS)
    writer.add_argument("--sim-speed", type=float, default=argparse.SUPPRESS, help="LIUYAN_SIM_SPEED")
    web.add_argument("--writer", dest="writer_url", default=argparse.SUPPRESS, help="writer URL (LIUYAN_WRITER_URL)")
    imp = sub.add_parser("import", parents=[common], help="import records: KIND FILE...")
    imp.add_argument("kind", help="messages, replies, evaluations, units or leaders")
    imp.add_argument("files", nargs="+", help="CSV, JSON Lines or Parquet files")
    user = sub.add_parser("user", help="manage the user store (LIUYAN_USERS_FILE)")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="add a user (password read from the terminal or one line of stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, help="national, province or wall (a wall gets a generated key)")
    add.add_argument("--province", help="the province of role province (adcode, 河南, 河南省 or Henan)")
    add.add_argument("--sso", action="store_true", help="signs in through the identity provider (no password)")
    add.add_argument("--replace", action="store_true", help="replace an existing user of this name")
    user_sub.add_parser("list", help="list the users (never their secrets)")
    remove = user_sub.add_parser("remove", help="remove a user (their sessions end at once)")
    remove.add_argument("name")
    brief = sub.add_parser("brief", parents=[common], help="write a briefing (专题简报) as PDF or Word")
    brief.add_argument("--period", default="week", help="week, month, quarter (the last complete one) or START:END")
    brief.add_argument("--province", help="one province (adcode or name); default: national")
    brief.add_argument("--out", help="output file, .pdf or .docx (default: a name from the period)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env(
        db=args.db,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        simulate=getattr(args, "simulate", None),
        sim_speed=getattr(args, "sim_speed", None),
        redis_url=getattr(args, "redis_url", None),
        writer_url=getattr(args, "writer_url", None),
    )
    command = args.command or "serve"
    if command == "init":
        from ingest.setup import init_database

        return init_database(settings, empty=args.empty, force=args.force)
    if command == "import":
        from ingest.importer import main as import_main

        return import_main([args.kind, *args.files], settings)
    if command == "user":
        return manage_users(args, settings)
    if command in ("writer", "web"):
        refusal = open_refusal(settings)
        if refusal:
            print(f"error: {refusal}", file=sys.stderr)
            return 2
        from scaleout import roles

        return roles.run_writer(settings) if command == "writer" else roles.run_web(settings)
    if command == "brief":
        from briefing.cli import main as brief_main

        return brief_main(args.period, args.province, args.out, settings)
    refusal = open_refusal(settings)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    return serve(settings)


def open_refusal(settings: Settings) -> str | None:
    """Why the server must not start as configured (None: it may)."""
    if settings.auth not in ("open", "required"):
        return f"LIUYAN_AUTH={settings.auth!r}: expected open or required"
    if settings.auth == "open" and not _loopback(settings.host) and not settings.allow_open:
        return (
            f"refusing to serve without login on {settings.host}: set LIUYAN_AUTH=required (and add users with "
            "`python app.py user add`), or LIUYAN_ALLOW_OPEN=1 to serve the open demo on the network"
        )
    if settings.auth == "required" and not settings.oidc_issuer:
        from dashboard.auth.users import UserStore

        if not UserStore(settings.users_file).users():
            return "LIUYAN_AUTH=required but nobody can sign in: add users with `python app.py user add` first"
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def manage_users(args, settings: Settings) -> int:
    from dashboard.auth.users import UserError, UserStore

    users = UserStore(settings.users_file)
    if args.user_command == "list":
        for u in users.users():
            province = "" if u.province is None else f" province={u.province}"
            print(f"{u.name}\trole={u.role}{province}\t{u.kind}{' +sso' if u.sso and u.password else ''}")
        return 0
    if args.user_command == "remove":
        if not users.remove(args.name):
            print(f"error: no user {args.name!r}", file=sys.stderr)
            return 1
        return 0
    password = None
    if args.role != "wall" and not args.sso:
        password = _read_password()
    try:
        key = users.add(args.name, args.role, args.province, password, sso=args.sso, replace=args.replace)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if key:
        print(f"wall key (shown once): {key}")
        print(f"open the wall at http://HOST:PORT/?key={key} or send the header X-Liuyan-Key")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise SystemExit("error: the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def serve(settings: Settings, role: str = "liuyan-screen", extend=None) -> int:
    """One process owning the database (the default, or scale-out's writer). `extend(settings, store, app)` adds to
    the app before it serves and returns what to stop afterwards (objects with `stop()`), stopped in that order.
    Returns 1 when the database is held by another process; else it serves until SIGINT/SIGTERM and ends the
    process (exit status 0)."""
    from waitress import serve as waitress_serve

    from dashboard.server import build_app
    from ingest.setup import open_or_create
    from ingest.simulate import start_in_process
    from insight.index import Indexer
    from insight.words_store import MESSAGE_WORDS
    from queries.checkpoints import Checkpointer
    from queries.db import DatabaseLocked
    from supervision.boilerplate import BOILERPLATE
    from supervision.features import REPLY_FEATURES
    from supervision.league_facts import LEAGUE_FACTS

    try:
        store = open_or_create(settings)
    except DatabaseLocked as exc:
        print(f"error: {exc}; is the server already running?", file=sys.stderr)
        return 1
    # Demo database only (never one holding imported data): fill the gap since the last run, then tick live.
    simulator = start_in_process(store, settings)
    app = build_app(settings, store)
    # features stored per record (messages' words, replies' checks and boilerplate flags, the league's facts),
    # filled in the background by the file's owner
    indexer = Indexer(store, [MESSAGE_WORDS, REPLY_FEATURES, BOILERPLATE, LEAGUE_FACTS], settings).start()
    checkpointer = Checkpointer(store, settings).start()  # in the pauses of the writes, not within one
    running = [*(extend(settings, store, app) if extend else []), indexer, checkpointer]
    print(f"{role}: {Path(settings.db).name} on http://{settings.host}:{settings.port}/", file=sys.stderr)
    _stop_on_signals()
    try:
        waitress_serve(
            app.server,
            host=settings.host,
            port=settings.port,
            threads=settings.threads,
            connection_limit=settings.connection_limit,
            ident=role,
        )
    finally:
        for part in [*running, simulator]:
            if part is not None:
                part.stop()
        store.close()  # committed data checkpointed; a statement still running on another thread is interrupted
    # Threads still busy (a wall story's text analysis, a request in flight) are not waited for: the database is
    # closed, so nothing they could still write would land (a SIGTERM under load otherwise waited for them).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _stop_on_signals() -> None:
    """Ctrl-C and a service manager's SIGTERM stop the server cleanly (waitress ends on KeyboardInterrupt),
    set explicitly: a process started in the background inherits an ignored SIGINT."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


if __name__ == "__main__":
    sys.exit(main())
