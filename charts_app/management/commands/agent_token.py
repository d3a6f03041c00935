from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Create (or reuse) an API user for a chat agent and print its token. "
        "The token is alone on the last line of the output."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="user name of the agent, e.g. aeris-agent")
        parser.add_argument(
            "--staff", action="store_true", help="let the agent see every session and chart"
        )
        parser.add_argument(
            "--rotate", action="store_true", help="replace an existing token with a new one"
        )

    def handle(self, *args, **options):
        name = options["name"].strip()
        staff = options["staff"]
        rotate = options["rotate"]
        user_model = get_user_model()
        field = user_model._meta.get_field(user_model.USERNAME_FIELD)
        try:
            field.run_validators(name)
            field.clean(name, None)
        except Exception as exc:
            messages = getattr(exc, "messages", [str(exc)])
            raise CommandError(f"invalid agent name {name!r}: {' '.join(messages)}") from None
        user, created = user_model.objects.get_or_create(**{user_model.USERNAME_FIELD: name})
        if created:
            user.set_unusable_password()
        if staff and not user.is_staff:
            user.is_staff = True
        user.save()
        if rotate:
            Token.objects.filter(user=user).delete()
        token, token_created = Token.objects.get_or_create(user=user)
        state = "created" if created else "existing"
        self.stdout.write(
            f"{state} user {name!r}; token {'created' if token_created else 'reused'}. "
            "Send it as: Authorization: Token <key>"
        )
        self.stdout.write(token.key)
