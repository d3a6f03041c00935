"""Chat sessions: the unit that owns charts and is deleted with them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .ids import (  # noqa: F401  (re-exported: the rule's historical home)
    DEFAULT_SESSION_ID,
    SESSION_ID_MAX_LENGTH,
    SESSION_ID_PATTERN,
    SESSION_ID_RE,
    generate_session_id,
    is_valid_session_id,
    session_id_validator,
)


class ChatSession(models.Model):
    id = models.CharField(
        primary_key=True,
        max_length=SESSION_ID_MAX_LENGTH,
        validators=[session_id_validator],
        editable=True,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_sessions",
    )
    title = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "chat session"

    def __str__(self) -> str:
        return self.title or self.id

    @property
    def is_default(self) -> bool:
        return self.id == DEFAULT_SESSION_ID
