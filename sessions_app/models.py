"""Chat sessions: the unit that owns charts and is deleted with them."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

# fullmatch semantics: `$` would let "abc\n" through, `\Z` does not.
SESSION_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
SESSION_ID_RE = re.compile(SESSION_ID_PATTERN)
DEFAULT_SESSION_ID = "default"

session_id_validator = RegexValidator(
    regex=rf"\A{SESSION_ID_PATTERN}\Z",
    message="Session ids are 1-64 characters: letters, digits, '_' or '-', "
    "starting with a letter or digit.",
    code="invalid_session_id",
)


def is_valid_session_id(value: object) -> bool:
    """Return True when value is a well-formed session id."""
    return isinstance(value, str) and SESSION_ID_RE.fullmatch(value) is not None


def generate_session_id() -> str:
    """Return a fresh, unguessable session id."""
    return f"s-{secrets.token_hex(12)}"


class ChatSession(models.Model):
    id = models.CharField(
        primary_key=True, max_length=64, validators=[session_id_validator], editable=True
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
