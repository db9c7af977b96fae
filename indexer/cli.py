"""The `indexer` command: run, reindex, check."""

from __future__ import annotations

import sys

import click

from indexer.worker import run_worker


@click.group()
def main() -> None:
    """Aftaleportalen's indexer: extraction and the search index."""


@main.command("run")
@click.option("--once", is_flag=True, help="Handle what is due, then exit.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks at the queue when idle.")
def run(once: bool, poll: float) -> None:
    """Work the queue until SIGTERM or SIGINT; the current job is finished first."""
    run_worker(once=once, poll_seconds=poll)


@main.command("reindex")
@click.option("--extract", "extract", is_flag=True, help="Extract the text of every PDF again.")
def reindex_command(extract: bool) -> None:
    """Build a new index from the database (and the object store) and switch to it."""
    from indexer.maintenance import count_documents, reindex
    from indexer.sandbox import ExtractorPool
    from portal import create_app

    app = create_app()
    with app.app_context():
        total = count_documents()
        with click.progressbar(length=total, label="Indekserer dokumenter", file=sys.stderr) as bar:
            if extract:
                with ExtractorPool() as pool:
                    written = reindex(pool.extract, force_extract=True, progress=bar.update)
            else:
                written = reindex(None, progress=bar.update)
    click.echo(f"{total} documents, {written} records; the new index is in use.")


@main.command("check")
@click.option("--show", default=20, show_default=True, help="How many ids to print per kind of difference.")
def check(show: int) -> None:
    """Compare the database with the index; print the differences; exit 1 when there are any."""
    from indexer.maintenance import compare
    from portal import create_app

    app = create_app()
    with app.app_context():
        differences = compare()
    for label, ids in (("missing from the index", differences.missing), ("stale in the index", differences.stale),
                       ("in the index but not the database", differences.extra)):
        click.echo(f"{len(ids)} record(s) {label}")
        for record_id in ids[:show]:
            click.echo(f"  {record_id}")
    if differences.any:
        sys.exit(1)
    click.echo("The index matches the database.")
