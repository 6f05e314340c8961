"""A console user who is staff (not a superuser), a member of one organization, with chosen permissions."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from orgs import services

PASSWORD = "pw-for-tests-only"


def member_client(client, organization, codenames, username="alice"):
    user = get_user_model().objects.create_user(username, f"{username}@a.example", PASSWORD, is_staff=True)
    services.add_member(organization=organization, user=user)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client
