"""API tokens move from rest_framework.authtoken (plain text) to knox (SHA-512 digests).

Each existing key is stored as its digest, so agents keep working with the key they have;
the plain-text rows are then deleted. Backups taken before this migration still hold
those keys in clear: re-issue them (`manage.py agent_token NAME --rotate`).
"""

from django.db import migrations


def hash_legacy_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return  # a database made after rest_framework.authtoken was removed
    AuthToken = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        legacy = cursor.fetchall()
        for key, user_id, created in legacy:
            token = AuthToken(
                digest=hash_token(key),
                token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
                user_id=user_id,
                expiry=None,
            )
            token.save()
            AuthToken.objects.filter(pk=token.pk).update(created=created)
        cursor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):
    dependencies = [
        ("charts_app", "0007_wider_session_ids"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(hash_legacy_tokens, migrations.RunPython.noop)]
