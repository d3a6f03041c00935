import sys

from django.core.management.base import BaseCommand, CommandError

from charts_app.conf import conf
from charts_app.services import charts_prune
from core.errors import InputError


class Command(BaseCommand):
    help = (
        "Delete charts older than the age limit (rows and files, both backends) and retry "
        "file deletions that a backend refused earlier. Safe for cron: one summary line, "
        "exit status 0 when everything due was deleted, 2 when something could not be."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age-hours",
            type=float,
            default=None,
            help="delete charts older than this (default: CHARTS_MAX_AGE_HOURS)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be deleted; delete nothing"
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="charts deleted per transaction"
        )

    def handle(self, *args, **options):
        max_age_hours = options["max_age_hours"]
        if max_age_hours is None:
            max_age_hours = conf.MAX_AGE_HOURS
        dry_run = options["dry_run"]
        batch_size = options["batch_size"]
        verbosity = options["verbosity"]
        show_progress = verbosity >= 1 and sys.stderr.isatty()

        def progress(done: int, total: int) -> None:
            if show_progress and total:
                width = 30
                filled = int(width * done / total)
                self.stderr.write(
                    f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending=""
                )
                self.stderr.flush()

        def list_due(chart) -> None:
            if verbosity >= 1:
                self.stdout.write(
                    f"would delete {chart.id} {chart.backend}:{chart.path} "
                    f"(session {chart.session_id}, {chart.created_at:%Y-%m-%d %H:%M:%S})"
                )

        try:
            result = charts_prune(
                max_age_hours=max_age_hours,
                batch_size=batch_size,
                dry_run=dry_run,
                progress=progress,
                on_due=list_due,
            )
        except InputError as exc:
            raise CommandError(f"--{exc.field.replace('_', '-')}: {exc.message}") from None
        if show_progress and result.due:
            self.stderr.write("")
        if dry_run:
            self.stdout.write(
                f"Dry run: {result.due} charts older than {max_age_hours:g} h would be deleted; "
                "nothing was deleted."
            )
            return
        summary = (
            f"Pruned {result.deleted} charts older than {max_age_hours:g} h; "
            f"{result.errors} file deletions failed; "
            f"retried {result.retried + result.retry_failed} pending deletions "
            f"({result.retry_failed} still failing)."
        )
        self.stdout.write(summary)
        if not result.ok:
            raise CommandError(
                "some chart files could not be deleted; they are kept for the next run",
                returncode=2,
            )
