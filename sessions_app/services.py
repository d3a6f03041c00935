"""Writes and access rules for chat sessions; nothing here knows what a session holds."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from core.errors import Conflict, InputError, NotFound

from .ids import DEFAULT_SESSION_ID, SESSION_ID_RULE, generate_session_id, is_valid_session_id
from .models import ChatSession


def session_id_check(session_id, *, field: str = "session_id") -> str:
    """The session id to use (`default` when empty), or InputError naming the field."""
    if session_id is None or session_id == "":
        return DEFAULT_SESSION_ID
    if not is_valid_session_id(session_id):
        raise InputError(f"session id must be {SESSION_ID_RULE}", field=field)
    return session_id


@transaction.atomic
def session_create(*, owner, session_id: str | None = None, title: str = "") -> ChatSession:
    """Create a session; the server picks an id when none is given."""
    if session_id is None or session_id == "":
        session_id = generate_session_id()
    elif not is_valid_session_id(session_id):
        raise InputError(f"must be {SESSION_ID_RULE}", field="id")
    if session_id == DEFAULT_SESSION_ID:
        raise InputError("the id 'default' is reserved", field="id")
    if ChatSession.objects.filter(pk=session_id).exists():
        raise Conflict(f"session {session_id!r} already exists", field="id")
    try:
        with transaction.atomic():
            return ChatSession.objects.create(pk=session_id, owner=owner, title=title or "")
    except IntegrityError:
        raise Conflict(f"session {session_id!r} already exists", field="id") from None


def session_for_write(*, session_id: str, user=None) -> ChatSession:
    """Get or create (row-locked) the session something is saved to; someone else's
    session is NotFound. Call inside a transaction."""
    if session_id == DEFAULT_SESSION_ID:
        session, _ = ChatSession.objects.get_or_create(
            pk=DEFAULT_SESSION_ID, defaults={"title": "Charts saved without a session"}
        )
        return session
    owner = user if user is not None and user.is_authenticated else None
    # Row-locked, so a concurrent session delete either sees this write or comes after
    # it (PostgreSQL checked the chart's foreign key only at COMMIT: a 500 before).
    session = ChatSession.objects.select_for_update().filter(pk=session_id).first()
    created = session is None
    if created:
        try:
            with transaction.atomic():
                session = ChatSession.objects.create(pk=session_id, owner=owner)
        except IntegrityError:  # created concurrently
            session = ChatSession.objects.select_for_update().get(pk=session_id)
            created = False
    if not created and owner is not None and not user.is_staff:
        if session.owner_id is None:
            # A session made through the Python API (no owner) is claimed by its first user.
            ChatSession.objects.filter(pk=session.pk, owner__isnull=True).update(owner=owner)
            session.owner = owner
        elif session.owner_id != owner.pk:
            raise NotFound("session not found", field="session_id")
    return session


def session_check_access(*, session_id: str, user=None) -> None:
    """Refuse someone else's session (as not found) before any work is done for it."""
    if session_id == DEFAULT_SESSION_ID or user is None or not user.is_authenticated:
        return
    owner_id = ChatSession.objects.filter(pk=session_id).values_list("owner_id", flat=True).first()
    if owner_id is not None and not user.is_staff and owner_id != user.pk:
        raise NotFound("session not found", field="session_id")
