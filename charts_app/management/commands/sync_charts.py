import sys

from django.core.management.base import BaseCommand, CommandError

from charts_app.models import Backend
from charts_app.services import charts_rehome, charts_sync
from core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Reconcile chart rows and stored files. --rehome uploads charts that fell back to "
        "local storage to the first remote backend (Cloudinary by default); the orphan "
        "check lists files no row references and rows whose file is gone; --fix deletes "
        "those files and rows. Safe for cron: one summary line; exit status 2 when "
        "something could not be done."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rehome",
            action="store_true",
            help="upload local fallbacks to the first remote backend (Cloudinary by default)",
        )
        parser.add_argument(
            "--fix", action="store_true", help="delete orphan files and rows without files"
        )
        parser.add_argument(
            "--grace-minutes",
            type=float,
            default=10.0,
            help="leave files younger than this alone (saves in progress); default 10",
        )
        parser.add_argument(
            "--no-orphans", action="store_true", help="skip the orphan check (with --rehome)"
        )

    def handle(self, *args, **options):
        rehome = options["rehome"]
        fix = options["fix"]
        grace = options["grace_minutes"]
        check_orphans = not options["no_orphans"]
        verbosity = options["verbosity"]
        if grace < 0:
            raise CommandError("--grace-minutes must not be negative")
        failed = False
        summary = []
        if rehome:
            show_progress = verbosity >= 1 and sys.stderr.isatty()

            def progress(done: int, total: int) -> None:
                if show_progress:
                    self.stderr.write(f"\rre-homing {done}/{total}", ending="")

            try:
                result = charts_rehome(progress=progress)
            except ApplicationError as exc:
                raise CommandError(exc.message) from None
            if show_progress:
                self.stderr.write("")
            for error in result.errors:
                self.stderr.write(f"re-home failed: {error}")
            target = Backend(result.target).label if result.target else "remote storage"
            summary.append(
                f"re-homed {result.moved} charts to {target} ({result.failed} failed"
                + (f", stopped early: {target} keeps failing" if result.stopped_early else "")
                + ")"
            )
            failed |= bool(result.failed)

        if check_orphans:

            def item(kind: str, backend: str, name: str) -> None:
                if verbosity >= 1:
                    self.stdout.write(f"{kind}: {backend}:{name}")

            report = charts_sync(fix=fix, grace_minutes=grace, on_item=item)
            for error in report.errors:
                self.stderr.write(error)
            text = (
                f"checked {report.checked_files} files and {report.checked_rows} rows: "
                f"{len(report.orphan_files)} orphan files, "
                f"{len(report.missing_files)} rows without a file"
            )
            if fix:
                text += f"; deleted {report.deleted_files} files and {report.deleted_rows} rows"
            summary.append(text)
            failed |= bool(report.errors)

        self.stdout.write(("Sync: " + "; ".join(summary) + ".") if summary else "Nothing to do.")
        if failed:
            raise CommandError("some charts could not be synchronized", returncode=2)
