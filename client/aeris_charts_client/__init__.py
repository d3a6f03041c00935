"""Python client of the Aeris chart service (the in-process API over HTTP)."""

from .client import AsyncChartsClient, ChartsClient, ChartsClientError

__all__ = ["AsyncChartsClient", "ChartsClient", "ChartsClientError"]
__version__ = "0.1.0"
