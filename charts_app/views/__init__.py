"""Server-rendered answers outside the API: chart files, share links, session galleries."""

from .gallery import GALLERY_PAGE_SIZE, session_gallery
from .serving import local_chart_response, serve_chart, serve_share

__all__ = [
    "GALLERY_PAGE_SIZE",
    "local_chart_response",
    "serve_chart",
    "serve_share",
    "session_gallery",
]
