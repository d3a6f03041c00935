"""Read-side queries for sessions: which sessions a user may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .ids import DEFAULT_SESSION_ID, is_valid_session_id
from .models import ChatSession


def session_visible(*, user) -> QuerySet[ChatSession]:
    """Sessions the user may see: their own and the shared `default` (staff: all)."""
    sessions = ChatSession.objects.all()
    if not user.is_staff:
        sessions = sessions.filter(Q(owner=user) | Q(pk=DEFAULT_SESSION_ID))
    return sessions


def session_get(*, user, session_id: str) -> ChatSession | None:
    if not is_valid_session_id(session_id):
        return None  # never send a malformed id (NUL, ...) to the database
    return session_visible(user=user).filter(pk=session_id).first()
