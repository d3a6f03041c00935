"""Django admin: charts, pending deletions and the statistics page; chat sessions with
their charts (registered by this app, which knows what a session holds)."""

from .charts import ChartAdmin, PendingDeletionAdmin, chart_thumbnail
from .sessions import INLINE_CHART_LIMIT, ChatSessionAdmin

__all__ = [
    "INLINE_CHART_LIMIT",
    "ChartAdmin",
    "ChatSessionAdmin",
    "PendingDeletionAdmin",
    "chart_thumbnail",
]
