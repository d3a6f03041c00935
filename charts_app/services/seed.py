"""The seed's Python API (`get_chart_storage_service`, `get_visualization_service`):
thin fronts over the same service functions the HTTP API uses."""

from __future__ import annotations

from sessions_app.services import session_id_check

from .charts import chart_as_dict, chart_create, chart_store
from .lifecycle import charts_prune, session_delete


class VisualizationService:
    """Seed-compatible front over chart_create."""

    def generate_chart(
        self,
        data: list,
        chart_type: str,
        session_id: str | None = None,
        output_format: str = "file",
        **options,
    ) -> dict:
        fmt = options.pop("format", options.pop("fmt", "png"))
        result = chart_create(
            data=data,
            chart_type=chart_type,
            session_id=session_id,
            output=output_format,
            fmt=fmt,
            **options,
        )
        if result.chart is None:
            return result.inline_answer(chart_type)
        return chart_as_dict(result.chart)


class ChartStorageService:
    """Seed-compatible front over chart_store / session_delete / charts_prune."""

    def save_chart(self, chart_bytes: bytes, session_id: str | None, chart_type: str = "chart"):
        chart = chart_store(content=chart_bytes, session_id=session_id, chart_type=chart_type)
        return chart_as_dict(chart)

    def delete_session_charts(self, session_id: str) -> dict:
        session_id = session_id_check(session_id)
        return session_delete(session_id=session_id).as_dict()

    def cleanup_old_charts(self, max_age_hours: float = 24) -> int:
        return charts_prune(max_age_hours=max_age_hours).deleted


_visualization_service = VisualizationService()
_storage_service = ChartStorageService()


def get_visualization_service() -> VisualizationService:
    return _visualization_service


def get_chart_storage_service() -> ChartStorageService:
    return _storage_service
