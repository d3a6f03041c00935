"""Where chart files live: the backends, the fallback chain and the hedged upload.

Nothing here knows about rows, sessions or requests: callers hand in bytes and names
and get `StoredFile`s back. Remote backends are imported only when configured
(`registry.make_backend`).
"""

from .base import (
    CACHE_CONTROL,
    CHART_TAG,
    CHARTS_DIR,
    CONTENT_TYPES,
    FILENAME_RE,
    ChartBackend,
    FileRef,
    StoredFile,
    chart_filename,
    content_type_of,
    is_chart_name,
    is_folder,
)
from .chain import ChartStorageChain, StoreOutcome
from .errors import ChartStorageError
from .hedging import PendingUpload, StoreAttempt, reset_remote_state, wait_for_uploads
from .local import LocalChartStorage, local_name
from .registry import (
    build_chain,
    get_chain,
    log_configuration,
    make_backend,
    reset_chain_on_setting_change,
)

__all__ = [
    "CACHE_CONTROL",
    "CHART_TAG",
    "CHARTS_DIR",
    "CONTENT_TYPES",
    "FILENAME_RE",
    "ChartBackend",
    "ChartStorageChain",
    "ChartStorageError",
    "FileRef",
    "LocalChartStorage",
    "PendingUpload",
    "StoreAttempt",
    "StoreOutcome",
    "StoredFile",
    "build_chain",
    "chart_filename",
    "content_type_of",
    "get_chain",
    "is_chart_name",
    "is_folder",
    "local_name",
    "log_configuration",
    "make_backend",
    "reset_chain_on_setting_change",
    "reset_remote_state",
    "wait_for_uploads",
]
