"""Command line: ``python -m bot {run,console,import-coops,seed-demo} …`` (see --help)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings

if TYPE_CHECKING:
    from bot.app import Backend, Services

log = logging.getLogger("bot")

EXIT_USAGE = 2


def setup_logging(
    settings: Settings, *, quiet: bool = False, log_file: Path | None = None
) -> None:
    from bot.logs import configure

    configure(settings.log_level, settings.log_format, quiet=quiet, log_file=log_file)


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The MongoDB URI to use: ``MONGODB_URI``, or an embedded SecantusDB started here."""
    if settings.mongodb_uri:
        yield settings.mongodb_uri
        return
    from bot.dbserver import EmbeddedMongo

    path = settings.data_dir / "db"
    server = EmbeddedMongo(path, supervise=True)
    server.start()
    log.warning(
        "Using the embedded database (SecantusDB) with its data in %s. For production, set "
        "MONGODB_URI to a real MongoDB (e.g. Atlas).",
        path,
    )
    try:
        yield server.uri
    finally:
        server.stop()


async def _with_services(
    settings: Settings, uri: str, work: Callable[[Services, Backend], Awaitable[int]]
) -> int:
    """Open the services over the database at ``uri``, run ``work``, close everything."""
    from bot.app import Backend, open_services

    backend = Backend.connect(settings, uri)
    try:
        services = await open_services(settings, backend)
        try:
            return await work(services, backend)
        finally:
            await services.close()
    finally:
        await backend.close()


def cmd_console(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import console_session

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    setup_logging(settings, quiet=True, log_file=settings.data_dir / "bot.log")
    with database(settings) as uri:
        asyncio.run(
            console_session(
                settings,
                uri,
                user_id=args.as_user,
                lang=args.lang,
                json_mode=args.json,
                demo=not args.no_demo,
            )
        )
    return 0


def _stop_while_starting(signum: int, frame: object) -> None:
    """SIGTERM before the bot's own handlers are in place (imports, connecting): stop with
    success. Nothing is lost: an update is acknowledged only once it is journaled."""
    raise SystemExit(0)


def stop_quietly_while_starting() -> None:
    """Until the running bot installs its handlers, SIGTERM ends the process cleanly
    (a platform restarting a slow start would otherwise see it die by the signal)."""
    signal.signal(signal.SIGTERM, _stop_while_starting)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.telegram_bot_token:
        if sys.stdin.isatty():
            print(
                "TELEGRAM_BOT_TOKEN is not set: starting the console chat instead "
                "(the same bot, in this terminal).",
                file=sys.stderr,
            )
            return cmd_console(
                settings, argparse.Namespace(as_user=10001, lang="id", json=False, no_demo=False)
            )
        print(
            "TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and set it, or run "
            "`python -m bot console` to chat with the bot in a terminal.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    stop_quietly_while_starting()
    from bot.app import Backend, build_application, poll

    setup_logging(settings)
    with database(settings) as uri:
        app = build_application(
            settings,
            Backend.connect(settings, uri),
            with_updater=True,
            rate_limit=True,
            live=True,
            http_broadcasts=True,
        )
        log.info("starting polling")
        asyncio.run(poll(app))
    return 0


def cmd_webhook(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.telegram_bot_token:
        print(
            "TELEGRAM_BOT_TOKEN is not set: the webhook server needs a bot token.", file=sys.stderr
        )
        return EXIT_USAGE
    stop_quietly_while_starting()
    from bot.app import Backend, build_application
    from bot.web import build_web_app, serve

    setup_logging(settings)
    with database(settings) as uri:
        application = build_application(
            settings,
            Backend.connect(settings, uri),
            rate_limit=True,
            live=True,
            http_broadcasts=True,
        )
        app = build_web_app(settings, application, secret=settings.resolve_webhook_secret())
        # SIGTERM/SIGINT: stop accepting, finish in-flight updates, flush — within 25 s.
        serve(settings, app)
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from bot.i18n import I18n
    from bot.services.importer import ImportFileError, describe_error, describe_file_error

    setup_logging(settings)
    path = Path(args.file)
    try:
        # Read as the import goes (bot.services.importer streams it), not held whole.
        source = path.open("rb")
    except OSError as exc:
        print(f"Cannot read {path}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    t = I18n(settings.locales_dir).get(args.lang)

    async def work(services: Services, backend: Backend) -> int:
        bar = tqdm(total=0, unit="rows", disable=not sys.stderr.isatty(), file=sys.stderr)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            report = await services.importer.import_file(source, progress=progress)
        except ImportFileError as exc:
            bar.close()
            print(describe_file_error(exc, t.gettext), file=sys.stderr)
            return 1
        bar.close()
        for error in report.errors:
            print(
                t.gettext("line {line}: {reason}").format(
                    line=error.line, reason=describe_error(error, t.gettext)
                ),
                file=sys.stderr,
            )
        print(
            t.gettext(
                "{rows} rows: {created} created, {updated} updated, {rejected} rejected"
            ).format(
                rows=report.rows,
                created=report.created,
                updated=report.updated,
                rejected=len(report.errors),
            )
        )
        return 0 if not report.errors else 1

    with source, database(settings) as uri:
        return int(asyncio.run(_with_services(settings, uri, work)))


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.demo import seed_demo

    setup_logging(settings)

    async def work(services: Services, backend: Backend) -> int:
        result = await seed_demo(
            services.importer, services.directory.coops, services.gazetteer, board=services.board
        )
        print(
            f"Demo directory: {result.report.created} created, {result.report.updated} "
            f"updated ({result.report.rows} synthetic cooperatives, names end in “(Demo)”)."
        )
        return 0

    with database(settings) as uri:
        return int(asyncio.run(_with_services(settings, uri, work)))


def cmd_admins(settings: Settings, args: argparse.Namespace) -> int:
    setup_logging(settings)

    async def work(services: Services, backend: Backend) -> int:
        admin = services.admin
        if args.action == "list":
            rows = await backend.admins.all()
            coops = {c.id: c for c in await backend.coops.get_many({r.coop_id for r in rows})}
            if not rows:
                print("No cooperative admins yet.")
            for row in rows:
                coop = coops.get(row.coop_id)
                name = coop.name if coop else "(removed cooperative)"
                reg = f" [{coop.registration_number}]" if coop and coop.registration_number else ""
                print(f"{row.user_id}\t{row.coop_id}\t{name}{reg}")
            return 0
        coop = await admin.resolve_coop(args.coop)
        if coop is None:
            print(f"No cooperative with id or registration number {args.coop!r}.", file=sys.stderr)
            return 1
        if args.action == "add":
            added = await admin.add_admin_cli(coop, args.user)
            print(
                f"User {args.user} {'is now' if added else 'was already'} an admin of {coop.name}."
            )
        else:
            removed = await admin.remove_admin_cli(coop, args.user)
            print(
                f"User {args.user} {'is no longer' if removed else 'was not'} an admin of "
                f"{coop.name}."
            )
        return 0

    with database(settings) as uri:
        return int(asyncio.run(_with_services(settings, uri, work)))


def cmd_rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    import os

    from bot.app import Backend
    from bot.services import crypto
    from bot.services.keys import rotate

    setup_logging(settings)
    embedded_key = settings.embedded_db and not settings.data_key
    if embedded_key:
        folder = settings.data_dir
        current = crypto.load_or_create_key(folder)
        new_path = folder / (crypto.KEY_FILE + ".new")
        if not new_path.exists():  # a re-run resumes with the same new key
            fd = os.open(new_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(crypto.generate_key() + "\n")
        new_key = new_path.read_text().strip()
        old_keys = [current, *crypto.previous_keys(folder)]
    else:
        if not settings.data_key_previous:
            print(
                "Set DATA_KEY to the new key and DATA_KEY_PREVIOUS to the old one (restart "
                "the bot with both first, so it reads either), then run rotate-key.",
                file=sys.stderr,
            )
            return EXIT_USAGE
        new_key, old_keys = settings.resolve_data_key(), list(settings.data_key_previous)
    vault = crypto.Vault(new_key, old_keys)

    async def work() -> int:
        backend = Backend.connect(settings, uri)
        try:
            report = await rotate(
                vault,
                backend.apps,
                backend.states,
                progress=lambda n: print(f"re-encrypted {n} …", file=sys.stderr),
                keys=backend.keys,
            )
        finally:
            await backend.close()
        print(
            f"Re-encrypted {report.applications} applications and {report.drafts} "
            f"unfinished forms under key {vault.key_id}; re-wrapped {report.keys} "
            "personal data keys."
        )
        return 0

    with database(settings) as uri:
        code = int(asyncio.run(work()))
    if embedded_key and code == 0:
        folder = settings.data_dir
        previous = folder / (crypto.KEY_FILE + ".previous")
        fd = os.open(previous, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as fh:
            fh.write(old_keys[0] + "\n")
        os.replace(folder / (crypto.KEY_FILE + ".new"), folder / crypto.KEY_FILE)
        print(
            f"{folder / crypto.KEY_FILE} now holds the new key; the old one is kept in "
            f"{previous} so cards printed before stay valid."
        )
    return code


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m bot",
        description="Gerbang Koperasi: the Telegram gateway to Indonesia's cooperatives. "
        "Configuration comes from the environment (see README).",
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the bot (polling); the console chat without a token",
        description="Run the bot with long polling. Without "
        "TELEGRAM_BOT_TOKEN, opens the console chat on a terminal "
        "and exits with status 2 otherwise.",
    )
    run.set_defaults(func=cmd_run)

    webhook = sub.add_parser(
        "webhook",
        help="run the webhook server (aiohttp)",
        description="Serve POST $WEBHOOK_PATH (default /telegram) for "
        "Telegram, GET /healthz and GET /readyz on $PORT; "
        "registers WEBHOOK_URL with Telegram at start.",
    )
    webhook.set_defaults(func=cmd_webhook)

    console = sub.add_parser(
        "console",
        help="chat with the bot in this terminal",
        description="Chat with the real bot (same handlers and storage) "
        "without Telegram. Reads a script from stdin when it "
        "is not a terminal. Syntax: text, /cmd, #loc LAT LON, "
        "#contact PHONE, #tap N|TEXT, #as USER_ID [LANG], "
        "#doc PATH, #inline QUERY.",
    )
    console.add_argument(
        "--as",
        dest="as_user",
        type=int,
        default=10001,
        metavar="USER_ID",
        help="the Telegram user id to act as (default 10001)",
    )
    console.add_argument(
        "--lang",
        choices=("id", "en"),
        default="id",
        help="the language Telegram reports for the user (default id)",
    )
    console.add_argument(
        "--json", action="store_true", help="print every Bot API call as one JSON object per line"
    )
    console.add_argument(
        "--no-demo", action="store_true", help="do not load demo data into an empty directory"
    )
    console.set_defaults(func=cmd_console)

    imp = sub.add_parser(
        "import-coops",
        help="import cooperatives from a CSV or GeoJSON file",
        description="Import the cooperative directory. Columns: name,type,"
        "latitude,longitude (required),registration_number,"
        "address,village_code,phone,services,simpanan_pokok,"
        "simpanan_wajib,description. Re-importing updates rows; "
        "bad rows are reported with their line number.",
    )
    imp.add_argument("file", help="the CSV (UTF-8, comma or semicolon separated) or GeoJSON")
    imp.add_argument(
        "--lang", choices=("id", "en"), default="en", help="language of the report (default en)"
    )
    imp.set_defaults(func=cmd_import)

    seed = sub.add_parser(
        "seed-demo",
        help="load clearly synthetic demo cooperatives",
        description="Create demo cooperatives (names end in “(Demo)”) at real "
        "village coordinates in Medan, Sleman, Jakarta, Makassar "
        "and Kupang, one village cooperative per village. "
        "Idempotent.",
    )
    seed.set_defaults(func=cmd_seed_demo)

    admins = sub.add_parser(
        "admins",
        help="assign, list or remove cooperative admins",
        description="Manage who runs which cooperative. REF is the "
        "cooperative's id or registration number.",
    )
    admin_sub = admins.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in (
        ("add", "make a user an admin of a cooperative"),
        ("remove", "take a cooperative's admin role away"),
    ):
        cmd = admin_sub.add_parser(action, help=text, description=text)
        cmd.add_argument(
            "--coop", required=True, metavar="REF", help="cooperative id or registration number"
        )
        cmd.add_argument(
            "--user", required=True, type=int, metavar="USER_ID", help="Telegram user id"
        )
    admin_sub.add_parser(
        "list", help="list every cooperative admin", description="List every cooperative admin."
    )
    admins.set_defaults(func=cmd_admins)

    rotate = sub.add_parser(
        "rotate-key",
        help="re-encrypt every stored NIK under a new key",
        description="Re-encrypt every stored NIK (and unfinished forms) "
        "under a new key, resumably. With MONGODB_URI: set "
        "DATA_KEY to the new key and DATA_KEY_PREVIOUS to the "
        "old one, restart the bot with both, then run this. "
        "Embedded default: the key in DATA_DIR is replaced.",
    )
    rotate.set_defaults(func=cmd_rotate_key)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not getattr(args, "func", None):
        parser().print_help()
        return EXIT_USAGE
    try:
        settings = Settings.from_env()
        settings.validate_for_nominatim()
        if args.func is not cmd_run or settings.telegram_bot_token:
            settings.resolve_data_key()  # refuse to start without DATA_KEY on a real MongoDB
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(settings, args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from bot.dbserver import EmbeddedDatabaseError

        if isinstance(exc, EmbeddedDatabaseError):
            print(f"Database error: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
