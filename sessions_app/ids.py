"""The session-id rule: which strings name a chat session, and the reserved `default`."""

from __future__ import annotations

import re
import secrets

from django.core.validators import RegexValidator

# fullmatch semantics: `$` would let "abc\n" through, `\Z` does not.
SESSION_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
SESSION_ID_MAX_LENGTH = 64
SESSION_ID_RE = re.compile(SESSION_ID_PATTERN)
SESSION_ID_RULE = "1-64 characters: letters, digits, '_' or '-', starting with a letter or digit"
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
