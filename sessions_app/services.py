"""Writes for chat sessions."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from charts_app.errors import ChartInputError, Conflict

from .models import DEFAULT_SESSION_ID, ChatSession, generate_session_id, is_valid_session_id


@transaction.atomic
def session_create(*, owner, session_id: str | None = None, title: str = "") -> ChatSession:
    """Create a session; the server picks an id when none is given."""
    if session_id is None or session_id == "":
        session_id = generate_session_id()
    elif not is_valid_session_id(session_id):
        raise ChartInputError(
            "must be 1-64 characters: letters, digits, '_' or '-', starting with a letter or digit",
            field="id",
        )
    if session_id == DEFAULT_SESSION_ID:
        raise ChartInputError("the id 'default' is reserved", field="id")
    if ChatSession.objects.filter(pk=session_id).exists():
        raise Conflict(f"session {session_id!r} already exists", field="id")
    try:
        with transaction.atomic():
            return ChatSession.objects.create(pk=session_id, owner=owner, title=title or "")
    except IntegrityError:
        raise Conflict(f"session {session_id!r} already exists", field="id") from None
