"""The Django admin over every domain model: it renders with real rows (binary columns
included), writes go through validated forms, and logs cannot be written at all."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection, models
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from domain.accounts.admin import EstimatedCountPaginator, table_row_estimate
from domain.accounts.models import User, UserGroup, UserPrivacy, UserStatistics
from domain.accounts.permissions import Perm
from domain.catalog.models import Torrent, TorrentTag
from domain.moderation.models import AuditLog, Ban
from domain.tracker.models import Announce, ClientRule, Peer
from tests.admin import rows
from tests.admin.forms import admin_form_data
from tests.admin.rows import ROW_FACTORIES, audit_log, hex_of, torrent
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

DOMAIN_APPS = {"accounts", "catalog", "tracker", "bonus", "community", "moderation", "search"}
REGISTERED = sorted((m for m in admin.site._registry if m._meta.app_label in DOMAIN_APPS),
                    key=lambda m: m._meta.label)
LOGS = (AuditLog, Announce)
NEW_PASSWORD = "a-fresh-long-passphrase-42"


def _label(model: type[models.Model]) -> str:
    return model._meta.label


def admin_url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    # Argon2 on every factory-made member would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sysop_client(client, sysop):
    client.force_login(sysop)
    return client


def _model_admin(model: type[models.Model]) -> admin.ModelAdmin:
    return admin.site._registry[model]


def _request_for(user: User, rf) -> Any:
    request = rf.get("/admin/")
    request.user = user
    return request


# --- Coverage ----------------------------------------------------------------------------


def test_every_domain_model_is_registered():
    domain_models = {m for m in apps.get_models() if m._meta.app_label in DOMAIN_APPS}

    assert domain_models - set(REGISTERED) == set()
    assert len(domain_models) >= 42


def test_every_registered_model_has_a_row_factory():
    assert set(REGISTERED) - set(ROW_FACTORIES) == set()


def test_admin_index_lists_every_domain_app(sysop_client):
    response = sysop_client.get("/admin/")

    assert response.status_code == 200
    listed = {app["app_label"] for app in response.context["app_list"]}
    assert listed >= DOMAIN_APPS


# --- Every model: changelist, add, change -----------------------------------------------


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_changelist_lists_a_row(sysop_client, model):
    row = ROW_FACTORIES[model]()

    response = sysop_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200
    assert admin_url(model, "change", row.pk) in response.content.decode()


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_changelist_queries_do_not_grow_with_rows(sysop_client, model):
    url = admin_url(model, "changelist")
    ROW_FACTORIES[model]()
    sysop_client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as one_row:
        assert sysop_client.get(url).status_code == 200
    ROW_FACTORIES[model]()
    ROW_FACTORIES[model]()

    with CaptureQueriesContext(connection) as three_rows:
        assert sysop_client.get(url).status_code == 200

    assert len(three_rows) == len(one_row), [q["sql"] for q in three_rows.captured_queries]


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_search_with_odd_input_does_not_crash(sysop_client, model):
    ROW_FACTORIES[model]()
    for term in ("zz", "10.0", "00ff", "f" * 40, "550e8400-e29b-41d4-a716-446655440000"):
        response = sysop_client.get(admin_url(model, "changelist"), {"q": term})
        assert response.status_code == 200, term


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_add_page_renders_or_is_refused(sysop_client, sysop, rf, model):
    may_add = _model_admin(model).has_add_permission(_request_for(sysop, rf))

    response = sysop_client.get(admin_url(model, "add"))

    assert response.status_code == (200 if may_add else 403)


@pytest.mark.parametrize("model", LOGS, ids=_label)
def test_logs_cannot_be_added(sysop_client, model):
    assert sysop_client.get(admin_url(model, "add")).status_code == 403
    assert sysop_client.post(admin_url(model, "add"), {}).status_code == 403


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_change_page_renders(sysop_client, model):
    row = ROW_FACTORIES[model]()

    response = sysop_client.get(admin_url(model, "change", row.pk))

    assert response.status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_change_form_saves_back_unchanged_or_is_refused(sysop_client, sysop, rf, model):
    """What the form shows, submitted as is, saves: no hidden constraint or field the
    form cannot round-trip (a 500 here is an admin bug). Read-only admins refuse it."""
    row = ROW_FACTORIES[model]()
    may_change = _model_admin(model).has_change_permission(_request_for(sysop, rf), row)
    url = admin_url(model, "change", row.pk)
    data = admin_form_data(sysop_client.get(url), model._meta.model_name)
    before = model._default_manager.filter(pk=row.pk).values().get()

    response = sysop_client.post(url, data)

    if may_change:
        errors = response.context and response.context.get("errors")
        assert response.status_code == 302, errors
        assert response["Location"] == admin_url(model, "changelist")
    else:
        assert response.status_code == 403
        assert model._default_manager.filter(pk=row.pk).values().get() == before


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_delete_confirmation_renders_or_is_refused(sysop_client, sysop, rf, model):
    row = ROW_FACTORIES[model]()
    may_delete = _model_admin(model).has_delete_permission(_request_for(sysop, rf), row)

    response = sysop_client.get(admin_url(model, "delete", row.pk))

    assert response.status_code == (200 if may_delete else 403)


# --- Binary columns ----------------------------------------------------------------------


def test_torrent_hashes_show_as_hex_and_info_dict_as_size(sysop_client):
    t = torrent()

    listing = sysop_client.get(admin_url(Torrent, "changelist")).content.decode()
    page = sysop_client.get(admin_url(Torrent, "change", t.pk)).content.decode()

    assert t.name in listing
    assert hex_of(t.info_hash_v1) in page
    assert hex_of(t.info_hash_v2) in page
    assert filesizeformat(len(t.info_dict)) in page
    assert "memory at" not in page


def test_torrent_search_by_info_hash_hex(sysop_client):
    wanted, other = torrent(), torrent()
    url = admin_url(Torrent, "changelist")

    for term in (hex_of(wanted.info_hash_v1), hex_of(wanted.info_hash_v2).upper()):
        content = sysop_client.get(url, {"q": term}).content.decode()
        assert admin_url(Torrent, "change", wanted.pk) in content
        assert admin_url(Torrent, "change", other.pk) not in content


def test_peer_id_shows_and_searches_as_hex(sysop_client):
    peer = rows.peer()
    peer_hex = hex_of(peer.peer_id)

    listing = sysop_client.get(admin_url(Peer, "changelist"), {"q": peer_hex})

    assert peer_hex in listing.content.decode()
    assert listing.context["cl"].result_count == 1


def test_announce_row_shows_peer_id_as_hex(sysop_client):
    announce = rows.announce()

    page = sysop_client.get(admin_url(Announce, "change", announce.pk))

    assert page.status_code == 200
    assert hex_of(announce.peer_id) in page.content.decode()


# --- Logs are read-only ------------------------------------------------------------------


def test_audit_log_cannot_be_changed_or_deleted(sysop_client):
    entry = audit_log()
    before = AuditLog.objects.values().get(pk=entry.pk)
    change_url = admin_url(AuditLog, "change", entry.pk)

    page = sysop_client.get(change_url)
    changed = sysop_client.post(change_url, {"action": "user.unban", "target_type": "",
                                             "changes": "{}", "metadata": "{}"})
    deleted = sysop_client.post(admin_url(AuditLog, "delete", entry.pk), {"post": "yes"})
    bulk = sysop_client.post(admin_url(AuditLog, "changelist"),
                             {"action": "delete_selected", "_selected_action": [entry.pk],
                              "post": "yes"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert changed.status_code == 403
    assert deleted.status_code == 403
    assert bulk.status_code in {200, 302}  # no delete action offered: nothing to run
    assert AuditLog.objects.values().get(pk=entry.pk) == before


def test_audit_log_json_is_escaped(sysop_client):
    entry = audit_log()

    page = sysop_client.get(admin_url(AuditLog, "change", entry.pk)).content.decode()

    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x</script>" not in page


def test_announce_cannot_be_changed_or_deleted(sysop_client):
    announce = rows.announce()

    changed = sysop_client.post(admin_url(Announce, "change", announce.pk), {"port": "1"})
    deleted = sysop_client.post(admin_url(Announce, "delete", announce.pk), {"post": "yes"})

    assert changed.status_code == 403
    assert deleted.status_code == 403
    assert Announce.objects.get(pk=announce.pk).port == announce.port


def test_audit_log_needs_audit_view(client, moderator):
    moderator.group.permissions.remove(Perm.AUDIT_VIEW)
    moderator.group.save()
    client.force_login(moderator)

    assert client.get(admin_url(AuditLog, "changelist")).status_code == 403


def test_unfiltered_log_changelist_counts_by_estimate(sysop_client, monkeypatch):
    for _ in range(3):
        audit_log()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_logs")
    audit_log()
    audit_log()  # not yet in the planner's statistics
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 1)
    url = admin_url(AuditLog, "changelist")

    unfiltered = sysop_client.get(url)
    filtered = sysop_client.get(url, {"target_type": "user"})

    assert table_row_estimate("audit_logs") == 3
    assert unfiltered.context["cl"].result_count == 3
    assert filtered.context["cl"].result_count == 5


# --- Who gets in -------------------------------------------------------------------------


def test_member_is_sent_to_the_admin_login(client, member):
    client.force_login(member)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_anonymous_is_sent_to_the_admin_login(client):
    response = client.get(admin_url(Torrent, "changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_access_comes_from_the_group(client, moderator):
    client.force_login(moderator)
    assert client.get("/admin/").status_code == 200

    moderator.group.permissions.remove(Perm.ADMIN_ACCESS)
    moderator.group.save()

    assert client.get("/admin/").status_code == 302


def test_disabled_staff_account_is_sent_to_the_admin_login(client, sysop):
    sysop.status = "disabled"
    sysop.save()
    client.force_login(sysop)

    assert client.get("/admin/").status_code == 302


def test_admin_login_form_refuses_members_and_admits_staff(client, member, sysop):
    refused = client.post("/admin/login/", {"username": member.username, "password": PASSWORD})
    admitted = client.post("/admin/login/", {"username": sysop.username, "password": PASSWORD})

    assert refused.status_code == 200
    assert "staff account" in refused.content.decode()
    assert admitted.status_code == 302


# --- Groups ------------------------------------------------------------------------------


def test_group_permissions_are_checkboxes_and_save_sorted(sysop_client):
    vip = UserGroup.objects.get(name="vip")
    url = admin_url(UserGroup, "change", vip.pk)
    page = sysop_client.get(url)
    assert 'type="checkbox" name="permissions" value="admin_access"' in page.content.decode()
    data = admin_form_data(page, "usergroup")
    data["permissions"] = ["upload", "download", "chat"]

    response = sysop_client.post(url, data)

    assert response.status_code == 302
    vip.refresh_from_db()
    assert vip.permissions == ["chat", "download", "upload"]


def test_unknown_permission_code_is_a_form_error(sysop_client):
    vip = UserGroup.objects.get(name="vip")
    url = admin_url(UserGroup, "change", vip.pk)
    data = admin_form_data(sysop_client.get(url), "usergroup")
    data["permissions"] = ["upload", "become_god"]

    response = sysop_client.post(url, data)

    assert response.status_code == 200
    assert "become_god is not one of the available choices" in response.content.decode()
    vip.refresh_from_db()
    assert "become_god" not in vip.permissions


def test_moderator_sees_groups_but_cannot_change_them(client, moderator):
    client.force_login(moderator)
    own = moderator.group
    url = admin_url(UserGroup, "change", own.pk)

    page = client.get(url)
    response = client.post(url, {"name": own.name, "permissions": list(Perm.values)})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    own.refresh_from_db()
    assert Perm.GROUPS_EDIT not in own.permissions


# --- Users -------------------------------------------------------------------------------


def _user_add_data(**overrides: str) -> dict[str, str]:
    data = {"username": "newbie", "email": "NewBie@Example.TEST",
            "group": str(UserGroup.objects.get(name="member").pk), "status": "active",
            "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return {**data, **overrides}


def test_admin_creates_a_member_who_can_log_in(sysop_client):
    response = sysop_client.post(admin_url(User, "add"), _user_add_data())

    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.email == "NewBie@example.test"
    assert UserPrivacy.objects.filter(user=user).exists()
    assert UserStatistics.objects.filter(user=user).exists()
    assert Client().login(username="newbie", password=NEW_PASSWORD)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"password2": "something-else-entirely"}, "The two password fields didn"),
    ({"password1": "short", "password2": "short"}, "too short"),
    ({"username": "SYSOP_TAKEN"}, "already exists"),
    ({"email": "TAKEN@example.test"}, "already exists"),
], ids=["mismatch", "weak", "username-taken", "email-taken"])
def test_bad_new_member_is_a_form_error(sysop_client, overrides, message):
    make_user("member", username="sysop_taken", email="taken@example.test")
    before = User.objects.count()

    response = sysop_client.post(admin_url(User, "add"), _user_add_data(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == before


def test_user_change_page_shows_password_hash_and_keeps_statistics_read_only(sysop_client,
                                                                             member):
    page = sysop_client.get(admin_url(User, "change", member.pk)).content.decode()

    assert "algorithm" in page  # the hash summary, never the hash
    assert member.password not in page
    assert member.passkey in page
    assert 'name="passkey"' not in page
    assert 'name="privacy-0-show_ratio"' in page
    assert 'name="statistics-0-uploaded"' not in page


def test_user_edit_saves_with_inlines(sysop_client, member):
    url = admin_url(User, "change", member.pk)
    data = admin_form_data(sysop_client.get(url), "user")
    data["title"] = ["Seeder of note"]
    data.pop("privacy-0-show_ratio", None)  # unchecked

    response = sysop_client.post(url, data)

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.title == "Seeder of note"
    assert member.privacy.show_ratio is False


def test_sysop_sets_a_members_password(sysop_client, member):
    url = reverse("admin:accounts_user_password_change", args=(member.pk,))
    assert sysop_client.get(url).status_code == 200

    response = sysop_client.post(url, {"usable_password": "true", "password1": NEW_PASSWORD,
                                       "password2": NEW_PASSWORD, "set-password": "1"})

    assert response.status_code == 302
    assert Client().login(username=member.username, password=NEW_PASSWORD)


def test_moderator_can_view_accounts_but_not_edit_them(client, moderator, member):
    client.force_login(moderator)
    url = admin_url(User, "change", member.pk)

    page = client.get(url)
    response = client.post(url, {"username": member.username, "email": "mine@example.test"})
    password = client.get(reverse("admin:accounts_user_password_change", args=(member.pk,)))

    assert page.status_code == 200
    assert response.status_code == 403
    assert password.status_code == 403
    member.refresh_from_db()
    assert member.email != "mine@example.test"


def test_administrator_cannot_promote_to_or_edit_higher_ranks(client, member):
    administrator = make_user("administrator")
    sysop = make_user("sysop")
    client.force_login(administrator)
    url = admin_url(User, "change", member.pk)
    data = admin_form_data(client.get(url), "user")
    data["group"] = [str(sysop.group.pk)]

    promoted = client.post(url, data)
    sysop_edit = client.post(admin_url(User, "change", sysop.pk), {"email": "x@example.test"})

    assert promoted.status_code == 200
    assert "Select a valid choice" in promoted.content.decode()
    member.refresh_from_db()
    assert member.group.name == "member"
    assert sysop_edit.status_code == 403


# --- Bans --------------------------------------------------------------------------------


def _ban_data(**overrides: str) -> dict[str, str]:
    return {"ban_type": "ip", "reason": "Seedbox abuse", "appeal_status": "none",
            "appeal_text": "", **overrides}


@pytest.mark.parametrize(("ip_range", "message"), [
    ("not-an-ip", "is not an IP address or CIDR range"),
    ("300.1.2.3/24", "is not an IP address or CIDR range"),
    ("10.0.0.0/33", "is not an IP address or CIDR range"),
    ("10.1.2.3/8", "did you mean 10.0.0.0/8?"),
    ("", "An IP ban needs an address or range"),
])
def test_bad_ip_range_is_a_form_error(sysop_client, ip_range, message):
    response = sysop_client.post(admin_url(Ban, "add"), _ban_data(ip_range=ip_range))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Ban.objects.exists()


@pytest.mark.parametrize(("ip_range", "stored"), [
    ("192.0.2.0/24", "192.0.2.0/24"),
    (" 192.0.2.7 ", "192.0.2.7/32"),
    ("2001:db8::/32", "2001:db8::/32"),
])
def test_ip_ban_is_saved_normalized_and_issued_by_the_actor(sysop_client, sysop, ip_range,
                                                            stored):
    response = sysop_client.post(admin_url(Ban, "add"), _ban_data(ip_range=ip_range))

    assert response.status_code == 302
    ban = Ban.objects.get()
    assert ban.ip_range == stored
    assert ban.issued_by == sysop


def test_account_ban_needs_a_member(sysop_client):
    response = sysop_client.post(admin_url(Ban, "add"), _ban_data(ban_type="account"))

    assert response.status_code == 200
    assert "This kind of ban needs a member." in response.content.decode()
    assert not Ban.objects.exists()


def test_ban_search_matches_range_text(sysop_client):
    ban = rows.ban()
    assert ban.ip_range is not None
    prefix = re.sub(r"\.0/24$", "", ban.ip_range)

    response = sysop_client.get(admin_url(Ban, "changelist"), {"q": prefix})

    assert response.context["cl"].result_count == 1


# --- Every write is a staff action: audited, and the tracker's cache follows -------------


def test_change_writes_an_audit_row_with_old_and_new_values(sysop_client, sysop):
    ban = rows.ban()
    url = admin_url(Ban, "change", ban.pk)
    data = admin_form_data(sysop_client.get(url), "ban")
    data["reason"] = ["Seedbox abuse, second offence"]

    response = sysop_client.post(url, data, REMOTE_ADDR="192.0.2.44")

    assert response.status_code == 302
    entry = AuditLog.objects.get(action="admin.ban.change")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (sysop.pk, "ban", ban.pk)
    assert entry.changes == {"reason": ["Seedbox abuse", "Seedbox abuse, second offence"]}
    assert entry.ip_address == "192.0.2.44"


def test_added_member_audit_row_holds_no_password(sysop_client):
    sysop_client.post(admin_url(User, "add"), _user_add_data())

    entry = AuditLog.objects.get(action="admin.user.add")
    assert entry.target_id == User.objects.get(username="newbie").pk
    assert entry.changes["username"] == [None, "newbie"]
    assert "password" not in str(entry.changes) and NEW_PASSWORD not in str(entry.changes)


def test_password_set_is_audited_without_the_password(sysop_client, member):
    url = reverse("admin:accounts_user_password_change", args=(member.pk,))

    sysop_client.post(url, {"usable_password": "true", "password1": NEW_PASSWORD,
                            "password2": NEW_PASSWORD, "set-password": "1"})

    entry = AuditLog.objects.get(action="admin.user.password_set")
    assert entry.target_id == member.pk
    assert NEW_PASSWORD not in str(entry.changes)


def test_bulk_delete_is_audited_per_row(sysop_client):
    tags = [ROW_FACTORIES[TorrentTag]() for _ in range(2)]

    response = sysop_client.post(admin_url(TorrentTag, "changelist"), {
        "action": "delete_selected", "_selected_action": [t.pk for t in tags], "post": "yes"})

    assert response.status_code == 302
    assert not TorrentTag.objects.filter(pk__in=[t.pk for t in tags]).exists()
    entries = AuditLog.objects.filter(action="admin.torrenttag.delete")
    assert {e.metadata["object_id"] for e in entries} == {str(t.pk) for t in tags}
    assert {e.metadata["model"] for e in entries} == {"catalog.TorrentTag"}


class _Calls:
    """Records calls to the tracker's invalidation functions (domain.tracker.cache), whose
    Redis side is that module's own business and tests."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def recorder(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))
        return record

    def of(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for n, a, k in self.calls if n == name]


@pytest.fixture
def invalidations(monkeypatch):
    calls = _Calls()
    # The admin modules' own imports, the ban writes' (domain.moderation.services'
    # ban_take_effect, shared with ban_issue), and the source module for code that looks the
    # hooks up when it runs.
    for module in ("domain.accounts.admin", "domain.catalog.admin", "domain.bonus.admin",
                   "domain.moderation.admin", "domain.moderation.services",
                   "domain.tracker.admin", "domain.tracker.cache"):
        for name in ("invalidate_user", "invalidate_torrent", "invalidate_ip_bans",
                     "invalidate_client_rules"):
            monkeypatch.setattr(f"{module}.{name}", calls.recorder(name), raising=False)
    return calls


def test_member_edit_drops_the_tracker_cache(sysop_client, member, invalidations):
    url = admin_url(User, "change", member.pk)
    data = admin_form_data(sysop_client.get(url), "user")
    data["status"] = ["disabled"]

    assert sysop_client.post(url, data).status_code == 302

    assert invalidations.of("invalidate_user") == [((member.pk,),
                                                    {"passkeys": (member.passkey,)})]


def test_torrent_edit_drops_the_tracker_cache(sysop_client, invalidations):
    t = torrent()
    url = admin_url(Torrent, "change", t.pk)
    data = admin_form_data(sysop_client.get(url), "torrent")
    data["is_freeleech"] = ["on"]

    assert sysop_client.post(url, data).status_code == 302

    stored = Torrent.objects.get(pk=t.pk)
    assert stored.is_freeleech
    assert bytes(stored.info_dict) == t.info_dict  # deferred, so never written back
    hashes = (bytes.fromhex(hex_of(t.info_hash_v1)), bytes.fromhex(hex_of(t.info_hash_v2)))
    assert invalidations.of("invalidate_torrent") == [((t.pk,), {"info_hashes": hashes})]


def test_download_ban_drops_the_members_tracker_cache(sysop_client, member, invalidations):
    response = sysop_client.post(admin_url(Ban, "add"),
                                 _ban_data(ban_type="download", user=str(member.pk)))

    assert response.status_code == 302
    assert invalidations.of("invalidate_user") == [((member.pk,), {})]
    assert invalidations.of("invalidate_ip_bans") == []


def test_ip_ban_drops_the_cached_ip_answers(sysop_client, invalidations):
    response = sysop_client.post(admin_url(Ban, "add"), _ban_data(ip_range="192.0.2.0/24"))

    assert response.status_code == 302
    assert invalidations.of("invalidate_ip_bans") == [((), {})]


def test_group_edit_drops_every_members_tracker_cache(sysop_client, invalidations):
    members = [make_user("vip") for _ in range(2)]
    vip = UserGroup.objects.get(name="vip")
    url = admin_url(UserGroup, "change", vip.pk)
    data = admin_form_data(sysop_client.get(url), "usergroup")
    data["max_peers_per_torrent"] = ["5"]

    assert sysop_client.post(url, data).status_code == 302

    assert {args[0] for args, _ in invalidations.of("invalidate_user")} == {
        m.pk for m in members}


def test_client_rule_edit_drops_the_cached_rules(sysop_client, invalidations):
    rule = ROW_FACTORIES[ClientRule]()
    url = admin_url(ClientRule, "change", rule.pk)
    data = admin_form_data(sysop_client.get(url), "clientrule")
    data.pop("is_active")

    assert sysop_client.post(url, data).status_code == 302

    assert invalidations.of("invalidate_client_rules") == [((), {})]


def test_nothing_is_audited_or_dropped_when_the_form_is_refused(sysop_client, invalidations):
    sysop_client.post(admin_url(Ban, "add"), _ban_data(ip_range="not-an-ip"))

    assert not AuditLog.objects.exists()
    assert invalidations.calls == []
