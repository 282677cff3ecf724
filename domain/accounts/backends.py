"""Login by username or email, both case-insensitive (the unique indexes on users are on
lower(username) and lower(email), so either identifies at most one member)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.http import HttpRequest

from domain.accounts.models import User


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> User | None:
        if not username or password is None:
            return None
        login = username.strip()
        user = (User.objects.select_related("group")
                .filter(Q(username__iexact=login) | Q(email__iexact=login)).first())
        if user is None:
            # Same cost as a wrong password, so timing does not reveal which names exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.select_related("group").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
