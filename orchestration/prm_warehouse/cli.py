"""The ``prm-warehouse`` command line: sample exports, builds and the post-build summary."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import sys
from pathlib import Path

import click

from .settings import (
    DEFAULT_DATA_DIR,
    ENV_AS_OF_DATE,
    ENV_LANDING_DIR,
    Settings,
)

logger = logging.getLogger("prm_warehouse")


def _is_default_sample(landing_dir: Path) -> bool:
    return landing_dir == (DEFAULT_DATA_DIR / "landing").resolve()


def _settings() -> Settings:
    from .raw.loader import load_workers

    try:
        load_workers()  # read by every raw asset: a bad value fails here, once
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


# Libraries whose progress messages drown the warehouse's own counts unless asked for.
QUIET_LOGGERS = ("great_expectations", "alembic", "sqlalchemy", "urllib3")


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """prm-warehouse: partner-portal exports to per-person and per-firm KPI marts.

    Settings come from the environment: PRM_LANDING_DIR (landing folder), PRM_WAREHOUSE_PATH
    (DuckDB file), PRM_SERVING_PATH (the copy BI tools read) and PRM_AS_OF_DATE (YYYY-MM-DD,
    default today in Japan time).
    """
    _configure_logging(verbose)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Landing folder to write.",
)
@click.option("--scale", type=float, default=0.05, show_default=True, help="1.0 = 5,000 firms.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--faulty", is_flag=True, help="Add faulty rows that the loaders quarantine.")
@click.option(
    "--last-export-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Write only export files dated on or before this day.",
)
def sample(
    out_dir: Path, scale: float, seed: int, faulty: bool, last_export_date: dt.datetime | None
) -> None:
    """Write realistic sample exports that follow the raw contract."""
    from .sample_data import generate_landing

    if scale <= 0:
        raise click.BadParameter("must be positive", param_hint="--scale")
    rows = generate_landing(
        out_dir,
        scale=scale,
        seed=seed,
        faulty=faulty,
        last_export_date=last_export_date.date() if last_export_date else None,
    )
    total = sum(rows.values())
    click.echo(f"wrote {total:,} rows of sample exports to {out_dir}")
    for source, count in rows.items():
        click.echo(f"  {source:<20} {count:>12,}")


@main.command()
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@click.pass_context
def build(ctx: click.Context, full_refresh: bool) -> None:
    """Load the landing folder, build and check every model, publish the marts."""
    from . import fingerprint
    from .pipeline import landing_has_exports, run_build
    from .sample_data import WINDOW_END, generate_landing
    from .summary import render_input_problems, render_skipped_inputs, render_summary

    settings = _settings()
    if not landing_has_exports(settings.landing_dir):
        if os.environ.get(ENV_LANDING_DIR):
            raise click.ClickException(f"no export files in {settings.landing_dir}")
        logger.info("no exports in %s: writing the sample exports", settings.landing_dir)
        generate_landing(settings.landing_dir)
    if not os.environ.get(ENV_AS_OF_DATE) and _is_default_sample(settings.landing_dir):
        # The sample exports end on a fixed day; as of today their deals would all look stale.
        settings = dataclasses.replace(settings, as_of_date=WINDOW_END)
        logger.info("sample exports: as of their last export day, %s", WINDOW_END)
    logger.info(
        "building %s from %s as of %s",
        settings.warehouse_path,
        settings.landing_dir,
        settings.as_of_date,
    )
    inputs = fingerprint.build_fingerprint(settings)
    if not full_refresh and fingerprint.is_up_to_date(settings, inputs):
        click.echo(
            f"nothing new: {settings.serving_path} was published from these exports, as of "
            f"{settings.as_of_date}, with these definitions (build --full-refresh rebuilds)"
        )
        return
    verbose = bool(ctx.find_root().params.get("verbose"))
    outcome = run_build(
        settings, full_refresh=full_refresh, console_log_level="DEBUG" if verbose else "INFO"
    )
    for warning in outcome.warned_checks:
        click.echo(f"warning: {warning.check} on {warning.asset}: {warning.description}", err=True)
    if not outcome.success:
        click.echo(f"build failed (run {outcome.run_id}):", err=True)
        for reason in outcome.reasons():
            click.echo(f"  - {reason}", err=True)
        click.echo("The serving copy still holds the previous publication.", err=True)
        sys.exit(1)
    click.echo(
        f"build succeeded (run {outcome.run_id}) as of {settings.as_of_date}; "
        f"BI tools read {settings.serving_path}"
    )
    fingerprint.record(settings, inputs, outcome.run_id)
    click.echo(render_summary(settings.serving_path))
    click.echo(render_input_problems(settings.warehouse_path))
    skipped = render_skipped_inputs(settings.landing_dir)
    if skipped:
        click.echo(skipped)


@main.command()
@click.argument("source")
@click.argument("file_name")
def withdraw(source: str, file_name: str) -> None:
    """Remove a delivered file's rows from the warehouse; the next build rebuilds in full.

    Use it for a file that should never have been delivered; a corrected export is simply
    delivered again under the same name. Deleting a file from the landing folder does not
    remove its rows (landing folders may be pruned after loading). The withdrawal is recorded
    in the warehouse: the next build, whatever starts it (this command line, the schedule,
    the sensor or the Dagster UI), rebuilds the incremental models from scratch, as
    build --full-refresh does.
    """
    import duckdb

    from .locking import warehouse_write_lock
    from .raw.withdraw import withdraw_file

    settings = _settings()
    if not settings.warehouse_path.exists():
        raise click.ClickException(f"no warehouse at {settings.warehouse_path}")
    with warehouse_write_lock(settings.warehouse_path):
        con = duckdb.connect(str(settings.warehouse_path))
        try:
            withdrawal = withdraw_file(con, source, file_name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            con.close()
    landing_copy = settings.landing_dir / source / file_name
    click.echo(
        f"withdrew {source}/{file_name}: {withdrawal.rows_removed:,} rows and "
        f"{withdrawal.quarantined_removed:,} quarantined rows removed"
    )
    if landing_copy.exists():
        click.echo(f"remove {landing_copy} too, or the next build loads it again", err=True)
    click.echo(
        "the next build (prm-warehouse build, the schedule, the sensor or the Dagster UI) "
        "rebuilds the incremental models in full; the serving copy keeps the withdrawn rows "
        "until it succeeds"
    )


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("dagster_args", nargs=-1, type=click.UNPROCESSED)
def ui(dagster_args: tuple[str, ...]) -> None:
    """Open the Dagster UI (``dagster dev``) on the project's instance.

    Extra arguments go to ``dagster dev``, e.g. ``prm-warehouse ui -p 3001``.
    """
    import subprocess

    from .pipeline import project_instance

    project_instance()  # sets DAGSTER_HOME and installs the project's dagster.yaml there
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster) if dagster.exists() else "dagster", "dev"]
    command += ["-m", "prm_warehouse.definitions", *dagster_args]
    logger.info("starting %s with DAGSTER_HOME=%s", " ".join(command), os.environ["DAGSTER_HOME"])
    sys.exit(subprocess.call(command))


@main.command()
def summary() -> None:
    """Print rows per mart and the latest month's funnel from the serving copy."""
    from .summary import render_summary

    settings = _settings()
    if not settings.serving_path.exists():
        raise click.ClickException(f"nothing published yet at {settings.serving_path}")
    click.echo(render_summary(settings.serving_path))


if __name__ == "__main__":
    main()
