from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.auth import token_issue, tokens_revoke


class Command(BaseCommand):
    help = (
        "Create (or reuse) an API user for a chat agent and issue it a new token, printed "
        "once, alone on the last line (only a digest is stored: it cannot be shown again). "
        "--rotate revokes the user's other tokens first; --revoke revokes them all and "
        "issues none."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="user name of the agent, e.g. aeris-agent")
        parser.add_argument(
            "--staff", action="store_true", help="let the agent see every session and chart"
        )
        parser.add_argument(
            "--rotate", action="store_true", help="revoke the user's other tokens first"
        )
        parser.add_argument(
            "--revoke", action="store_true", help="revoke every token of the user; issue none"
        )
        parser.add_argument(
            "--expires-in-days",
            type=float,
            default=None,
            help="the token stops working after this many days (default: never)",
        )

    def handle(self, *args, **options):
        name = options["name"].strip()
        days = options["expires_in_days"]
        if days is not None and not 0 < days <= 36500:
            raise CommandError("--expires-in-days must be more than 0 and at most 36500")
        user_model = get_user_model()
        self._check_name(user_model, name)
        if options["revoke"]:
            user = user_model.objects.filter(**{user_model.USERNAME_FIELD: name}).first()
            if user is None:
                raise CommandError(f"no user {name!r}")
            self.stdout.write(f"revoked {tokens_revoke(user=user)} tokens of {name!r}")
            return
        user, created = user_model.objects.get_or_create(**{user_model.USERNAME_FIELD: name})
        if created:
            user.set_unusable_password()
        if options["staff"] and not user.is_staff:
            user.is_staff = True
        user.save()
        revoked = tokens_revoke(user=user) if options["rotate"] else 0
        expires_in = timedelta(days=days) if days is not None else None
        key = token_issue(user=user, expires_in=expires_in)
        state = "created" if created else "existing"
        expiry = f"expires in {days:g} days" if days is not None else "does not expire"
        self.stdout.write(
            f"{state} user {name!r}; new token ({expiry}; {revoked} revoked). "
            "Send it as: Authorization: Token <key>. It is shown only now:"
        )
        self.stdout.write(key)

    @staticmethod
    def _check_name(user_model, name: str) -> None:
        field = user_model._meta.get_field(user_model.USERNAME_FIELD)
        try:
            field.run_validators(name)
            field.clean(name, None)
        except Exception as exc:
            messages = getattr(exc, "messages", [str(exc)])
            raise CommandError(f"invalid agent name {name!r}: {' '.join(messages)}") from None
