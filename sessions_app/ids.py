"""The session-id rule: which strings name a chat session, and the reserved `default`."""

from __future__ import annotations

import re
import secrets

from django.core.validators import RegexValidator

# Every id the Aeris-AQ agent accepts (its own rule is 4-100 of these characters), and
# safe as a path segment, a Cloudinary folder and an object-key part. fullmatch
# semantics: `$` would let "abc\n" through, `\Z` does not.
SESSION_ID_PATTERN = r"[A-Za-z0-9_-]{1,100}"
SESSION_ID_MAX_LENGTH = 100
SESSION_ID_RE = re.compile(SESSION_ID_PATTERN)
SESSION_ID_RULE = "1-100 characters: letters, digits, '_' or '-'"
DEFAULT_SESSION_ID = "default"

session_id_validator = RegexValidator(
    regex=rf"\A{SESSION_ID_PATTERN}\Z",
    message=f"Session ids are {SESSION_ID_RULE}.",
    code="invalid_session_id",
)


def is_valid_session_id(value: object) -> bool:
    """Return True when value is a well-formed session id."""
    return isinstance(value, str) and SESSION_ID_RE.fullmatch(value) is not None


def generate_session_id() -> str:
    """Return a fresh, unguessable session id."""
    return f"s-{secrets.token_hex(12)}"
