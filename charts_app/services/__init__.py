"""Business rules for charts (writes). The API, admin, management commands and the seed's
Python API call these; every name callers use is re-exported here.

charts     render or take bytes, store them, track them
images     checks on uploaded bytes
healing    late uploads and session-folder races
lifecycle  deleting charts and sessions, pruning by age, leases
sync       re-homing fallbacks, the orphan check
agent      generate_chart as the Aeris-AQ agent calls it (its names, its answer keys)
seed       the in-process Python API (sync and async), the seed's service objects
"""

from .admission import limits_apply, render_admission, render_status, user_render_slot
from .agent import (
    STATIC_NOTICE,
    air_quality_notice,
    chart_answer,
    columns_used,
    error_answer,
    sampling_notice,
)
from .charts import (
    ChartCreateResult,
    chart_as_dict,
    chart_create,
    chart_store,
    public_url,
    records_of,
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
    acleanup_old_charts,
    adelete_session_charts,
    agenerate_chart,
    asave_chart,
    cleanup_old_charts,
    delete_session_charts,
    generate_chart,
    get_chart_storage_service,
    get_visualization_service,
    save_chart,
)
from .sync import RehomeResult, SyncReport, charts_rehome, charts_sync

__all__ = [
    "limits_apply",
    "render_admission",
    "render_status",
    "user_render_slot",
    "STATIC_NOTICE",
    "chart_answer",
    "error_answer",
    "columns_used",
    "air_quality_notice",
    "sampling_notice",
    "acleanup_old_charts",
    "adelete_session_charts",
    "agenerate_chart",
    "asave_chart",
    "cleanup_old_charts",
    "delete_session_charts",
    "generate_chart",
    "public_url",
    "records_of",
    "save_chart",
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
