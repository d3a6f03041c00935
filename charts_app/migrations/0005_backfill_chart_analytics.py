"""Copy render time and fallback cause from each chart's meta into the new columns."""

from django.db import migrations

BATCH = 500


def _render_ms(meta: dict):
    value = meta.get("render_ms")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _fallback_cause(meta: dict) -> str:
    fallback = meta.get("fallback")
    if not isinstance(fallback, dict):
        return ""
    return str(fallback.get("cause") or "")[:32]


def backfill(apps, schema_editor):
    Chart = apps.get_model("charts_app", "Chart")
    changed = []
    for chart in Chart.objects.only("id", "meta").iterator(chunk_size=BATCH):
        meta = chart.meta if isinstance(chart.meta, dict) else {}
        chart.render_ms = _render_ms(meta)
        chart.fallback_cause = _fallback_cause(meta)
        if chart.render_ms is not None or chart.fallback_cause:
            changed.append(chart)
        if len(changed) >= BATCH:
            Chart.objects.bulk_update(changed, ["render_ms", "fallback_cause"])
            changed = []
    if changed:
        Chart.objects.bulk_update(changed, ["render_ms", "fallback_cause"])


class Migration(migrations.Migration):
    dependencies = [("charts_app", "0004_sharing_and_analytics")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
