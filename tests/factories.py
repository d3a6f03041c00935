"""factory_boy factories for rows; files are created through the real services."""

import factory
from django.contrib.auth import get_user_model

from sessions_app.models import ChatSession


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-test-123")


class ChatSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatSession

    id = factory.Sequence(lambda n: f"session-{n}")
    owner = factory.SubFactory(UserFactory)
    title = factory.Faker("sentence", nb_words=3)
