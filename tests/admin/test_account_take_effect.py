"""A member's class, status and password changed through the services and through Django
admin have the same effects (issue 19.1): one take-effect function per change
(domain.accounts.services: group_take_effect, status_take_effect, password_take_effect)
audits, notifies, ends sessions and sockets, tells open sockets to re-authorize
(access.changed) and drops the tracker's record, whichever path made the change. The rank
rule (permissions.rank_allows) is one rule for both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from domain.accounts.models import User, UserGroup, UserSession, UserStatus
from domain.accounts.permissions import rank_allows
from domain.accounts.services import password_change, user_group_set, user_status_set
from domain.community.models import Notification
from domain.errors import NotPermitted
from domain.moderation.models import AuditLog
from tests.admin.forms import admin_form_data
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-fresh-long-passphrase-42"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _group(name: str) -> UserGroup:
    return UserGroup.objects.get(name=name)


def _open_sessions(user: User) -> int:
    return UserSession.objects.filter(user=user, revoked_at__isnull=True).count()


def _logged_in(user: User, tabs: int = 2) -> list[Client]:
    clients = []
    for _ in range(tabs):
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def _admin_edit(actor: User, member: User, **fields: str) -> int:
    client = Client()
    client.force_login(actor)
    url = reverse("admin:accounts_user_change", args=(member.pk,))
    page: Any = client.get(url)
    data = admin_form_data(page, "user")
    for name, value in fields.items():
        data[name] = [value]
    return client.post(url, data).status_code


def _by_service_group(actor: User, member: User, group: UserGroup) -> None:
    user_group_set(actor=actor, user=member, group=group, reason="Changed by staff.")


def _by_admin_group(actor: User, member: User, group: UserGroup) -> None:
    assert _admin_edit(actor, member, group=str(group.pk)) == 302


def _by_service_status(actor: User, member: User, status: str) -> None:
    user_status_set(actor=actor, user=member, status=status)


def _by_admin_status(actor: User, member: User, status: str) -> None:
    assert _admin_edit(actor, member, status=status) == 302


PATHS = {"service": (_by_service_group, _by_service_status),
         "admin": (_by_admin_group, _by_admin_status)}


@pytest.mark.parametrize("path", list(PATHS))
def test_a_class_change_is_audited_notified_and_reaches_the_sockets(
        path, sysop, member, published_events, django_capture_on_commit_callbacks):
    change: Callable[..., Any] = PATHS[path][0]
    with django_capture_on_commit_callbacks(execute=True):
        change(sysop, member, _group("vip"))

    member.refresh_from_db()
    assert member.group.name == "vip"
    audit = AuditLog.objects.get(action="user.group_change", target_id=member.pk)
    assert audit.actor_id == sysop.pk
    assert audit.changes == {"group": ["member", "vip"]}
    note = Notification.objects.get(user=member, kind="group_change")
    assert "VIP" in note.title
    assert published_events.of("access.changed") == [{"reason": "group"}]
    assert published_events.of("session.revoked") == []


@pytest.mark.parametrize("path", list(PATHS))
def test_a_move_into_a_2fa_class_ends_the_members_sessions(
        path, sysop, member, published_events, django_capture_on_commit_callbacks):
    _logged_in(member)
    assert _open_sessions(member) == 2
    with django_capture_on_commit_callbacks(execute=True):
        PATHS[path][0](sysop, member, _group("moderator"))

    assert _open_sessions(member) == 0
    assert published_events.of("session.revoked") == [{"reason": "2fa_required"}]


@pytest.mark.parametrize("path", list(PATHS))
def test_disabling_an_account_ends_every_session_and_socket(
        path, sysop, member, published_events, django_capture_on_commit_callbacks):
    tabs = _logged_in(member)
    with django_capture_on_commit_callbacks(execute=True):
        PATHS[path][1](sysop, member, UserStatus.DISABLED)

    member.refresh_from_db()
    assert member.status == UserStatus.DISABLED
    assert _open_sessions(member) == 0
    assert tabs[0].get("/").status_code == 302  # logged out: sent to the login page
    audit = AuditLog.objects.get(action="user.status_change", target_id=member.pk)
    assert audit.actor_id == sysop.pk
    assert audit.changes == {"status": ["active", "disabled"]}
    assert published_events.of("session.revoked") == [{"reason": "disabled"}]
    assert published_events.of("access.changed") == [{"reason": "status"}]


@pytest.mark.parametrize("path", list(PATHS))
def test_re_enabling_an_account_is_audited_and_ends_nothing(
        path, sysop, published_events, django_capture_on_commit_callbacks):
    member = make_user("member", status=UserStatus.DISABLED)
    with django_capture_on_commit_callbacks(execute=True):
        PATHS[path][1](sysop, member, UserStatus.ACTIVE)

    member.refresh_from_db()
    assert member.status == UserStatus.ACTIVE
    assert AuditLog.objects.filter(action="user.status_change", target_id=member.pk).exists()
    assert published_events.of("session.revoked") == []


def test_a_password_set_in_admin_ends_the_members_sessions(
        sysop, member, published_events, django_capture_on_commit_callbacks):
    _logged_in(member)
    client = Client()
    client.force_login(sysop)
    url = reverse("admin:accounts_user_password_change", args=(member.pk,))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"usable_password": "true", "password1": NEW_PASSWORD,
                                     "password2": NEW_PASSWORD, "set-password": "1"})

    assert response.status_code == 302
    assert _open_sessions(member) == 0
    assert published_events.of("session.revoked") == [{"reason": "password_change"}]
    audit = AuditLog.objects.get(action="user.password_change", target_id=member.pk)
    assert audit.actor_id == sysop.pk and audit.metadata["by_staff"] is True
    assert NEW_PASSWORD not in str(audit.changes) + str(audit.metadata)


def test_a_sysop_setting_their_own_password_in_admin_keeps_this_session(sysop):
    other_tab = _logged_in(sysop, tabs=1)[0]
    client = Client()
    client.force_login(sysop)
    url = reverse("admin:accounts_user_password_change", args=(sysop.pk,))

    response = client.post(url, {"usable_password": "true", "password1": NEW_PASSWORD,
                                 "password2": NEW_PASSWORD, "set-password": "1"})

    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    assert other_tab.get(reverse("admin:index")).status_code == 302
    assert _open_sessions(sysop) == 1


def test_the_members_own_password_change_goes_through_the_same_function(member):
    _logged_in(member)
    own = Client()
    own.force_login(member)
    password_change(user=member, old_password=PASSWORD, new_password=NEW_PASSWORD,
                    current_session_key=own.session.session_key)

    assert _open_sessions(member) == 1
    audit = AuditLog.objects.get(action="user.password_change", target_id=member.pk)
    assert audit.actor_id == member.pk and audit.metadata["by_staff"] is False


# --- The rank rule --------------------------------------------------------------------


def test_nobody_changes_a_member_ranked_at_or_above_them_through_the_service():
    administrator, sysop, peer = (make_user("administrator"), make_user("sysop"),
                                  make_user("administrator"))
    for target in (sysop, peer):
        with pytest.raises(NotPermitted):
            user_group_set(actor=administrator, user=target, group=_group("member"))
        with pytest.raises(NotPermitted):
            user_status_set(actor=administrator, user=target, status=UserStatus.DISABLED)
        target.refresh_from_db()
        assert target.group.name in ("sysop", "administrator")
        assert target.status == UserStatus.ACTIVE
    with pytest.raises(NotPermitted):
        user_group_set(actor=administrator, user=make_user("member"),
                       group=_group("administrator"))


def test_moderators_without_users_edit_change_no_status(moderator, member):
    with pytest.raises(NotPermitted):
        user_status_set(actor=moderator, user=member, status=UserStatus.DISABLED)


def test_admin_offers_only_the_classes_the_rank_rule_allows(client):
    administrator = make_user("administrator")
    member = make_user("member")
    client.force_login(administrator)
    page = client.get(reverse("admin:accounts_user_change", args=(member.pk,)))
    offered = set(page.context["adminform"].form.fields["group"].queryset)
    assert offered == {g for g in UserGroup.objects.all() if rank_allows(administrator, g)}
    assert _group("administrator") not in offered and _group("moderator") in offered


def test_turning_on_2fa_for_a_class_ends_the_sessions_of_its_unenrolled_members(
        sysop, published_events, django_capture_on_commit_callbacks):
    from tests.domain.accounts.factories import enable_two_factor

    unenrolled, enrolled = make_user("vip"), make_user("vip")
    enable_two_factor(enrolled)
    for member in (unenrolled, enrolled):
        _logged_in(member, tabs=1)
    client = Client()
    client.force_login(sysop)
    vip = _group("vip")
    url = reverse("admin:accounts_usergroup_change", args=(vip.pk,))
    page: Any = client.get(url)
    data = admin_form_data(page, "usergroup")
    data["requires_2fa"] = ["on"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data).status_code == 302

    assert _open_sessions(unenrolled) == 0
    assert _open_sessions(enrolled) == 1
    assert published_events.of("session.revoked") == [{"reason": "2fa_required"}]
    # Saved again with 2FA already on: nothing more ends.
    again: Any = client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, admin_form_data(again, "usergroup")).status_code == 302
    assert _open_sessions(enrolled) == 1
