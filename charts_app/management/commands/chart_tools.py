import json

from django.core.management.base import BaseCommand

from charts_app.tools.definitions import PROVIDERS, all_definitions, definitions


class Command(BaseCommand):
    help = (
        "Print the chart tools' definitions (generate_chart, list_session_charts) as JSON "
        "for a model provider, to paste into an agent's repository; without --provider, "
        "all of them keyed by provider (what GET /api/v1/tools/ answers)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--provider", choices=PROVIDERS, help="openai, anthropic or gemini")
        parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")

    def handle(self, *args, **options):
        provider = options["provider"]
        tools = definitions(provider) if provider else all_definitions()
        self.stdout.write(json.dumps(tools, indent=options["indent"] or None, ensure_ascii=False))
