"""The `hub` command: run the hub, migrate the database, administer from a terminal."""

import argparse
import getpass
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from hub import audit
from hub.config import Environment, Settings, get_settings
from hub.db import make_engine, session_factory, upgrade_database
from hub.errors import DomainError, InvalidForm
from hub.groups import service as groups
from hub.members import service as members
from hub.members.models import Brand, Person
from hub.policy import Actor, command_line_actor

if TYPE_CHECKING:
    from hub.auth.models import IdentityProvider

Handler = Callable[[argparse.Namespace, Session, Settings, Actor], None]


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        raise SystemExit(2)
    args.run(args)


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = get_settings()
    settings.check()
    uvicorn.run(
        "hub.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    )


def _demo(args: argparse.Namespace) -> None:
    os.environ.setdefault("HUB_ENV", Environment.development)
    os.environ.setdefault("HUB_BASE_URL", f"http://{args.host}:{args.port}")
    get_settings.cache_clear()
    settings = get_settings()
    if settings.env != Environment.development:
        raise SystemExit("hub demo runs only with HUB_ENV=development.")
    from hub.demo import load_demo_data

    engine = make_engine(settings)
    upgrade_database(engine)
    with Session(engine) as session:
        load_demo_data(session, settings)
    engine.dispose()
    print(f"Alliance Hub demo on {settings.base_url} (database {settings.database_url})")
    print("Sign in with any demo e-mail; the login page lists a few.")
    _start_worker_thread(settings)
    args.workers = 1
    _serve(args)


def _start_worker_thread(settings: Settings) -> None:
    """The demo's worker: a daemon thread, so it ends with the server."""
    from hub.worker import run_forever

    _check_mail_settings(settings)
    sessions = session_factory(make_engine(settings))
    threading.Thread(
        target=run_forever,
        args=(sessions, settings, threading.Event()),
        name="hub-worker",
        daemon=True,
    ).start()


def _worker(args: argparse.Namespace) -> None:
    from hub.worker import run_forever, run_once

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    settings.check()
    _check_mail_settings(settings)
    engine = make_engine(settings)
    try:
        if args.once:
            sent = run_once(session_factory(engine), settings)
            print(f"{sent} {'mail' if sent == 1 else 'mails'} sent.")
        else:
            run_forever(session_factory(engine), settings, interval=args.interval)
    finally:
        engine.dispose()


def _check_mail_settings(settings: Settings) -> None:
    from hub.notify.mail import SmtpServer

    if settings.smtp_url:
        try:
            SmtpServer.from_url(settings.smtp_url)
        except ValueError as error:
            raise SystemExit(f"error: {error}") from None


def _db_upgrade(args: argparse.Namespace) -> None:
    engine = make_engine(get_settings())
    upgrade_database(engine)
    engine.dispose()
    print("Database is at the newest revision.")


def _db_backup(args: argparse.Namespace) -> None:
    from hub import backup

    try:
        backup.backup(get_settings(), Path(args.path), say=print)
    except backup.BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def _db_restore(args: argparse.Namespace) -> None:
    from hub import backup

    try:
        backup.restore(get_settings(), Path(args.path), say=print)
    except backup.BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    print("Restore complete.")


def _admin(handler: Handler) -> Callable[[argparse.Namespace], None]:
    def run(args: argparse.Namespace) -> None:
        settings = get_settings()
        engine = make_engine(settings)
        actor = command_line_actor(f"{getpass.getuser()}@{socket.gethostname()}")
        try:
            with Session(engine, expire_on_commit=False) as session:
                handler(args, session, settings, actor)
        except InvalidForm as invalid:
            for field, message in invalid.errors.items():
                print(f"error: {field}: {message}", file=sys.stderr)
            raise SystemExit(1) from None
        except DomainError as error:
            print(f"error: {error.message}", file=sys.stderr)
            raise SystemExit(1) from None
        finally:
            engine.dispose()

    return run


def _brand_by_slug(session: Session, slug: str) -> Brand:
    return members.get_brand(session, slug)


def _brand_add(args: argparse.Namespace, session: Session, _s: Settings, actor: Actor) -> None:
    group_ids = [groups.get_group(session, slug).id or 0 for slug in args.group or []]
    brand = members.create_brand(
        session,
        actor,
        name=args.name,
        slug=args.slug,
        country=args.country,
        domains=",".join(args.domain),
        website=args.website or "",
        description=args.description or "",
        group_ids=group_ids,
    )
    print(f"Created brand {brand.slug} ({brand.name}).")


def _brand_list(args: argparse.Namespace, session: Session, _s: Settings, _a: Actor) -> None:
    for card in members.directory(session):
        names = ", ".join(group.slug for group in card.groups)
        print(f"{card.brand.slug:30} {card.brand.country}  {card.brand.name}  [{names}]")


def _group_add(args: argparse.Namespace, session: Session, _s: Settings, actor: Actor) -> None:
    group = groups.create_group(
        session, actor, name=args.name, slug=args.slug, description=args.description or ""
    )
    print(f"Created working group {group.slug} ({group.name}).")


def _group_list(args: argparse.Namespace, session: Session, _s: Settings, _a: Actor) -> None:
    for card in groups.all_groups(session):
        print(f"{card.group.slug:32} {card.brand_count:3} brands  {card.group.name}")


def _coordinator_appoint(
    args: argparse.Namespace, session: Session, _s: Settings, actor: Actor
) -> None:
    group = groups.get_group(session, args.group)
    person = groups.appoint_coordinator(session, actor, group, args.email)
    print(f"{person.name} now coordinates {group.name}.")


def _coordinator_remove(
    args: argparse.Namespace, session: Session, _s: Settings, actor: Actor
) -> None:
    group = groups.get_group(session, args.group)
    person = session.exec(select(Person).where(Person.email == args.email.lower())).first()
    if person is None:
        raise SystemExit(f"error: nobody has the e-mail address {args.email}")
    groups.remove_coordinator(session, actor, group, person.id or 0)
    print(f"{person.name} no longer coordinates {group.name}.")


def _person_add(args: argparse.Namespace, session: Session, _s: Settings, actor: Actor) -> None:
    brand = _brand_by_slug(session, args.brand)
    person = members.add_person(
        session, actor, brand, args.name, args.email, args.role, args.job_title or ""
    )
    print(f"Added {person.name} <{person.email}> to {brand.name} as {person.role}.")


def _idp_add(args: argparse.Namespace, session: Session, settings: Settings, actor: Actor) -> None:
    from hub.auth import providers

    brand = _brand_by_slug(session, args.brand)
    secret = args.client_secret or getpass.getpass("Client secret: ")
    form = providers.ProviderForm(
        name=args.name or "",
        issuer=args.issuer,
        client_id=args.client_id,
        client_secret=secret,
        domains=args.domain or [],
        admin_claim=args.admin_claim or "",
        admin_value=args.admin_value or "",
        email_authoritative=args.email_authoritative,
    )
    provider = providers.add_provider(session, settings, actor, brand, form)
    print(
        f"Added identity provider {provider.id} for {brand.name} (switched off): {provider.issuer}"
    )
    print(f"Register this redirect URI at the provider: {providers.redirect_uri(settings, brand)}")
    print(f"Next: 'hub admin idp test {provider.id}', a test sign-in on the SSO page, then")
    print(f"'hub admin idp enable {provider.id}'.")


def _provider_and_brand(session: Session, provider_id: int) -> tuple["IdentityProvider", Brand]:
    from hub.auth.models import IdentityProvider

    provider = session.get(IdentityProvider, provider_id)
    if provider is None:
        raise SystemExit(f"error: there is no identity provider {provider_id}")
    brand = session.get(Brand, provider.brand_id)
    assert brand is not None
    return provider, brand


def _idp_test(args: argparse.Namespace, session: Session, settings: Settings, actor: Actor) -> None:
    from hub.auth import providers

    provider, brand = _provider_and_brand(session, args.provider_id)
    problems = providers.check_connection(session, settings, actor, brand, provider)
    if problems:
        for problem in problems:
            print(f"problem: {problem}", file=sys.stderr)
        raise SystemExit(1)
    print(f"{provider.issuer}: discovery document and signing keys are fine.")
    if not provider.tested:
        print(f"Now run a test sign-in from {settings.base_url}/brands/{brand.slug}/sso")


def _idp_enable(args: argparse.Namespace, session: Session, _s: Settings, actor: Actor) -> None:
    from hub.auth import providers

    provider, brand = _provider_and_brand(session, args.provider_id)
    providers.set_enabled(
        session, actor, brand, provider, True, without_test=args.without_test_sign_in
    )
    print(f"Identity provider {provider.id} of {brand.name} is switched on.")


def _idp_disable(args: argparse.Namespace, session: Session, _s: Settings, actor: Actor) -> None:
    from hub.auth import providers

    provider, brand = _provider_and_brand(session, args.provider_id)
    providers.set_enabled(session, actor, brand, provider, False)
    print(f"Identity provider {provider.id} of {brand.name} is switched off.")


def _idp_list(args: argparse.Namespace, session: Session, _s: Settings, _a: Actor) -> None:
    from hub.auth.providers import providers_of

    brand = _brand_by_slug(session, args.brand)
    for view in providers_of(session, brand):
        provider = view.provider
        state = "enabled" if provider.enabled else ("tested" if provider.tested else "draft")
        domains = ", ".join(view.domains)
        client = f"client_id={provider.client_id}"
        print(f"{provider.id:5}  {state:8}  {provider.issuer}  {client}  [{domains}]")


def _audit(args: argparse.Namespace, session: Session, _s: Settings, _a: Actor) -> None:
    for entry in audit.page(session, args.limit):
        print(
            f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.action:28} {entry.target:30} {entry.actor_label}"
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="Alliance Hub")
    commands = parser.add_subparsers(title="commands")

    def serving(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8000)

    demo = commands.add_parser("demo", help="load demo data and run with the development login")
    serving(demo)
    demo.set_defaults(run=_demo)
    serve = commands.add_parser("serve", help="run the hub")
    serving(serve)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)
    worker = commands.add_parser("worker", help="run the periodic jobs and send queued e-mail")
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.add_argument("--interval", type=float, default=5.0, help="seconds between passes")
    worker.set_defaults(run=_worker)
    db = commands.add_parser("db", help="database schema").add_subparsers(title="db commands")
    db.add_parser("upgrade", help="apply all migrations").set_defaults(run=_db_upgrade)
    sub = db.add_parser("backup", help="write the database and evidence files into one file")
    sub.add_argument("path", help="the file to write: NAME.tar.gz, or NAME.tar uncompressed")
    sub.set_defaults(run=_db_backup)
    sub = db.add_parser(
        "restore", help="restore a backup into an empty database and evidence store"
    )
    sub.add_argument("path", help="a file written by `hub db backup`")
    sub.set_defaults(run=_db_restore)

    admin = commands.add_parser("admin", help="administer brands, groups, people, providers")
    areas = admin.add_subparsers(title="areas")

    brand = areas.add_parser("brand").add_subparsers(title="brand commands")
    add = brand.add_parser("add", help="create a member brand")
    add.add_argument("--name", required=True)
    add.add_argument("--slug", required=True)
    add.add_argument("--country", required=True, help="ISO 3166 code, e.g. FR")
    add.add_argument("--domain", action="append", required=True, help="e-mail domain (repeat)")
    add.add_argument("--group", action="append", help="working group slug (repeat)")
    add.add_argument("--website")
    add.add_argument("--description")
    add.set_defaults(run=_admin(_brand_add))
    brand.add_parser("list").set_defaults(run=_admin(_brand_list))

    group = areas.add_parser("group").add_subparsers(title="group commands")
    add = group.add_parser("add", help="create a working group")
    add.add_argument("--name", required=True)
    add.add_argument("--slug", required=True)
    add.add_argument("--description")
    add.set_defaults(run=_admin(_group_add))
    group.add_parser("list").set_defaults(run=_admin(_group_list))

    coordinator = areas.add_parser("coordinator").add_subparsers(title="coordinator commands")
    for name, handler in (("appoint", _coordinator_appoint), ("remove", _coordinator_remove)):
        sub = coordinator.add_parser(name)
        sub.add_argument("group", help="working group slug")
        sub.add_argument("email")
        sub.set_defaults(run=_admin(handler))

    person = areas.add_parser("person").add_subparsers(title="person commands")
    add = person.add_parser("add", help="add a person to a brand before their first login")
    add.add_argument("brand", help="brand slug")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument(
        "--role", default="member", choices=["member", "brand_admin", "alliance_admin"]
    )
    add.add_argument("--job-title")
    add.set_defaults(run=_admin(_person_add))

    idp = areas.add_parser("idp").add_subparsers(title="identity provider commands")
    add = idp.add_parser("add", help="connect a brand's OpenID Connect provider (switched off)")
    add.add_argument("brand", help="brand slug")
    add.add_argument("--issuer", required=True)
    add.add_argument("--client-id", required=True)
    add.add_argument("--client-secret", help="asked for when left out")
    add.add_argument("--domain", action="append", required=True, help="e-mail domain (repeat)")
    add.add_argument("--name")
    add.add_argument("--admin-claim", help="claim that marks brand admins, e.g. groups")
    add.add_argument("--admin-value", help="value of that claim, e.g. brand-protection-admins")
    add.add_argument(
        "--email-authoritative",
        action="store_true",
        help="trust e-mail addresses even without email_verified=true",
    )
    add.set_defaults(run=_admin(_idp_add))
    sub = idp.add_parser("list")
    sub.add_argument("brand")
    sub.set_defaults(run=_admin(_idp_list))
    sub = idp.add_parser("test", help="check the discovery document and signing keys")
    sub.add_argument("provider_id", type=int)
    sub.set_defaults(run=_admin(_idp_test))
    sub = idp.add_parser("enable", help="switch on (after a test sign-in)")
    sub.add_argument("provider_id", type=int)
    sub.add_argument(
        "--without-test-sign-in",
        action="store_true",
        help="switch on without a test sign-in (recorded in the audit log)",
    )
    sub.set_defaults(run=_admin(_idp_enable))
    sub = idp.add_parser("disable", help="switch off: its people can no longer sign in")
    sub.add_argument("provider_id", type=int)
    sub.set_defaults(run=_admin(_idp_disable))

    log = areas.add_parser("audit", help="show the newest audit log entries")
    log.add_argument("--limit", type=int, default=50)
    log.set_defaults(run=_admin(_audit))
    return parser


if __name__ == "__main__":
    main()
