"""The `indexer` command."""

from __future__ import annotations

import click

from indexer.worker import run_worker


@click.group()
def main() -> None:
    """Aftaleportalen's indexer: extraction and the search index."""


@main.command("run")
@click.option("--once", is_flag=True, help="Handle what is queued, then exit.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks at the queue when idle.")
def run(once: bool, poll: float) -> None:
    """Work the queue until SIGTERM or SIGINT; the current job is finished first."""
    run_worker(once=once, poll_seconds=poll)
