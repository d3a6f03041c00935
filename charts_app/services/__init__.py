"""Business rules for charts (writes). The API, admin, management commands and the seed's
Python API call these; every name callers use is re-exported here.

charts     render or take bytes, store them, track them
images     checks on uploaded bytes
healing    late uploads and session-folder races
lifecycle  deleting charts and sessions, pruning by age, leases
sync       re-homing fallbacks, the orphan check
seed       the seed's Python API
"""

from .charts import (
    ChartCreateResult,
    chart_as_dict,
    chart_create,
    chart_store,
    request_fingerprint,
)
from .healing import chart_adopt_remote, heal_after_folder_deletion
from .images import ImageInfo, check_chart_type, image_inspect
from .lifecycle import (
    DeleteResult,
    PruneResult,
    chart_delete,
    charts_delete,
    charts_prune,
    lease_acquire,
    session_delete,
)
from .seed import (
    ChartStorageService,
    VisualizationService,
    get_chart_storage_service,
    get_visualization_service,
)
from .sync import RehomeResult, SyncReport, charts_rehome, charts_sync

__all__ = [
    "ChartCreateResult",
    "ChartStorageService",
    "DeleteResult",
    "ImageInfo",
    "PruneResult",
    "RehomeResult",
    "SyncReport",
    "VisualizationService",
    "chart_adopt_remote",
    "chart_as_dict",
    "chart_create",
    "chart_delete",
    "chart_store",
    "charts_delete",
    "charts_prune",
    "charts_rehome",
    "charts_sync",
    "check_chart_type",
    "get_chart_storage_service",
    "get_visualization_service",
    "heal_after_folder_deletion",
    "image_inspect",
    "lease_acquire",
    "request_fingerprint",
    "session_delete",
]
