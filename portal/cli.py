"""The `portal` command: a Flask CLI group with the operator's commands (DESIGN.md lists them)."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup

from portal.access import SYSTEM
from portal.errors import PortalError


def _fail(exc: PortalError) -> None:
    fields = getattr(exc, "fields", None) or {}
    detail = "; ".join(f"{k}: {v}" for k, v in fields.items())
    raise click.ClickException(f"{exc.message} {detail}".strip())


def register_commands(app: Flask) -> None:
    from portal.extensions import db
    from portal.migrate import upgrade
    from portal.models import PartyKind, Role
    from portal.services import auth as auth_service
    from portal.services import parties as party_service
    from portal.services import users as user_service
    from portal.uow import unit_of_work

    db_group = click.Group("db", help="Database schema.")

    @db_group.command("upgrade")
    @click.option("--revision", default="head", show_default=True)
    def db_upgrade(revision: str) -> None:
        """Apply the Alembic migrations."""
        upgrade(db.engine, revision)
        click.echo(f"Database migrated to {revision}.")

    app.cli.add_command(db_group)

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the database already has parties.")
    def demo(if_empty: bool) -> None:
        """Load the fictional demo municipality and print the log-ins."""
        from portal.demo import DEMO_PASSWORD, load_demo

        with unit_of_work():
            if party_service.find_municipality() is not None:
                if if_empty:
                    click.echo("The database already has data; demo not loaded.")
                    return
                raise click.ClickException("The database already has a municipality; use an empty database.")
            logins = load_demo()
        click.echo(f"Demo loaded. Every demo user has the password: {DEMO_PASSWORD}")
        for email, description in logins:
            click.echo(f"  {email:<42} {description}")

    parties = click.Group("parties", help="Parties: the municipality and the organisations.")

    @parties.command("create")
    @click.option("--kind", type=click.Choice(["municipality", "organisation"]), required=True)
    @click.option("--name", required=True)
    @click.option("--cvr", required=True)
    @click.option("--municipality-name", default="", help="Hjemsted (defaults to the municipality's).")
    def parties_create(kind: str, name: str, cvr: str, municipality_name: str) -> None:
        """Create a party and print its id."""
        try:
            with unit_of_work():
                party = party_service.create_party(SYSTEM, kind=PartyKind(kind), name=name, cvr=cvr,
                                                   municipality_name=municipality_name)
        except PortalError as exc:
            _fail(exc)
        click.echo(party.id)

    app.cli.add_command(parties)

    users = click.Group("users", help="Users and their memberships.")

    @users.command("create")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--party", "party_ref", required=True, help="CVR, id, or 'municipality'.")
    @click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
    @click.option("--password", default=None, help="Set directly; without it an invitation link is printed.")
    def users_create(email: str, name: str, party_ref: str, role: str, password: str | None) -> None:
        """Create a user (or add a membership to an existing one)."""
        try:
            with unit_of_work():
                party = party_service.find_party_by_reference(party_ref)
                if party is None:
                    raise click.ClickException(f"No party found for {party_ref!r}.")
                result = user_service.invite_user(SYSTEM, party, email=email, name=name, role=role, password=password,
                                                  invitation_valid_hours=app.config["PORTAL"].invitation_valid_hours)
        except PortalError as exc:
            _fail(exc)
        click.echo(result.user.id)
        if result.invitation_token:
            base = app.config["PORTAL"].base_url
            click.echo(f"Invitation link: {base}/invitation/{result.invitation_token}", err=True)

    app.cli.add_command(users)

    tokens = click.Group("tokens", help="API tokens.")

    def _user_by_email(email: str) -> Any:
        from sqlalchemy import select

        from portal.models import User

        user = db.session.scalar(select(User).where(User.email == auth_service.normalise_email(email)))
        if user is None:
            raise click.ClickException(f"No user with e-mail {email!r}.")
        return user

    @tokens.command("create")
    @click.option("--user", "email", required=True)
    @click.option("--label", default="cli")
    @click.option("--expires-days", type=int, default=None, help="Stop working after this many days (default: never).")
    def tokens_create(email: str, label: str, expires_days: int | None) -> None:
        """Create an API token for a user and print it (it is shown only once)."""
        try:
            with unit_of_work():
                token = auth_service.create_api_token(SYSTEM, _user_by_email(email), label=label,
                                                      expires_days=expires_days)
        except PortalError as exc:
            _fail(exc)
        click.echo(token)

    @tokens.command("list")
    @click.option("--user", "email", required=True)
    def tokens_list(email: str) -> None:
        """List a user's tokens that are not revoked: id, prefix, label, created, last used, expiry."""
        with unit_of_work():
            found = auth_service.find_api_tokens(user=_user_by_email(email))
        for t in found:
            expiry = t.expires_at.strftime("%Y-%m-%d %H:%M") if t.expires_at else "never"
            if auth_service.token_expired(t):
                expiry += " (expired)"
            used = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never"
            click.echo(f"{t.id}\t{t.prefix or '-'}\t{t.label}\tcreated {t.created_at:%Y-%m-%d %H:%M}\t"
                       f"last used {used}\texpires {expiry}")

    @tokens.command("revoke")
    @click.option("--user", "email", default=None, help="Revoke every token of this user.")
    @click.option("--id", "token_id", type=int, default=None, help="Revoke the token with this id (see `tokens list`).")
    @click.option("--prefix", default=None, help="Revoke the token that begins so (the 11 characters shown on the profile).")
    def tokens_revoke(email: str | None, token_id: int | None, prefix: str | None) -> None:
        """Revoke API tokens: all of a user's (--user), or one (--id or --prefix). Prints how many."""
        if sum(value is not None for value in (email, token_id, prefix)) != 1:
            raise click.UsageError("Give exactly one of --user, --id or --prefix.")
        with unit_of_work():
            if email is not None:
                count = auth_service.revoke_user_api_tokens(SYSTEM, _user_by_email(email))
            else:
                found = auth_service.find_api_tokens(token_id=token_id, prefix=prefix)
                if len(found) != 1:
                    raise click.ClickException("No unrevoked token matches." if not found else
                                               "The prefix matches several tokens; use --id (see `tokens list`).")
                auth_service.revoke_api_token(SYSTEM, found[0].id)
                count = 1
        click.echo(f"{count} token(s) revoked.")

    app.cli.add_command(tokens)

    storage = click.Group("storage", help="The object store.")

    @storage.command("check")
    @click.option("--dry-run", is_flag=True, help="Only report; remove nothing.")
    def storage_check(dry_run: bool) -> None:
        """List objects without a row and rows without an object; remove orphan objects older than a day.

        Exits 1 when a row's object is missing."""
        from portal.services.storage_check import ORPHAN_GRACE, check_storage

        report = check_storage(remove_older_than=None if dry_run else ORPHAN_GRACE)
        for info in report.orphan_objects:
            state = "removed" if info.key in report.removed_objects else "kept (younger than a day)"
            click.echo(f"orphan object {info.key} ({info.size} bytes, {info.modified:%Y-%m-%d %H:%M}): {state}")
        for document_id, number, key in report.missing_objects:
            click.echo(f"MISSING object for document {document_id} version {number}: {key}", err=True)
        click.echo(f"{len(report.orphan_objects)} orphan object(s), {len(report.removed_objects)} removed, "
                   f"{len(report.missing_objects)} missing object(s).")
        if report.missing_objects:
            sys.exit(1)

    app.cli.add_command(storage)

    documents = click.Group("documents", help="Documents.")

    @documents.command("purge")
    def documents_purge() -> None:
        """Remove documents deleted more than 30 days ago, with their files."""
        from portal.services.storage_check import purge_deleted_documents

        with unit_of_work():
            count = purge_deleted_documents()
        click.echo(f"{count} document(s) purged.")

    app.cli.add_command(documents)

    agreements = click.Group("agreements", help="Agreements.")

    @agreements.command("expire")
    def agreements_expire() -> None:
        """Mark active agreements whose term has ended as expired."""
        from portal.services.agreements import expire_agreements

        with unit_of_work():
            count = expire_agreements()
        click.echo(f"{count} agreement(s) expired.")

    app.cli.add_command(agreements)

    reminders = click.Group("reminders", help="Obligation reminders.")

    @reminders.command("send")
    @click.option("--today", default=None, help="Act as if it were this date (YYYY-MM-DD).")
    def reminders_send(today: str | None) -> None:
        """Queue today's reminders (each at most once) and deliver what is queued."""
        from datetime import date

        from portal.mail import deliver_pending
        from portal.services.obligations import queue_reminders

        day = date.fromisoformat(today) if today else date.today()
        settings = app.config["PORTAL"]
        queued = queue_reminders(day, base_url=settings.base_url)
        delivered = deliver_pending(settings)
        click.echo(f"{queued} reminder(s) queued, {delivered} message(s) delivered.")

    app.cli.add_command(reminders)


def _create_app() -> Flask:
    from portal import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """Aftaleportalen."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
