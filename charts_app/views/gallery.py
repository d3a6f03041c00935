"""Server-rendered pages for chat sessions: the chart gallery."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from charts_app.selectors import chart_list, session_get

GALLERY_PAGE_SIZE = 50


@require_safe
@login_required
def session_gallery(request: HttpRequest, session_id: str) -> HttpResponse:
    """The session's charts as a grid, for its owner and staff; anyone else gets 404."""
    session = session_get(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such session")
    # A tie-breaker on the key keeps pages stable when two charts share a timestamp.
    charts = chart_list(user=request.user, session_id=session.pk).order_by("-created_at", "-pk")
    page = Paginator(charts, GALLERY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sessions_app/gallery.html",
        {"session": session, "page": page, "charts": page.object_list},
    )
