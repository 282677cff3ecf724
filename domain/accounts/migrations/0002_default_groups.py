"""The seed's 13 user groups, with ranks and permission sets."""

from django.db import migrations

GIB = 1024**3

MEMBER = ["site_access", "download", "upload", "comment", "forum_post", "forum_topic_create",
          "chat", "pm_send", "request_create", "tag_vote", "bonus_spend"]
POWER_USER = [*MEMBER, "collection_create", "invite"]
TORRENT_MASTER = [*POWER_USER, "upload_auto_approve"]
VIP = [*TORRENT_MASTER, "vip_access", "immune_ratio"]
FORUM_MODERATOR = [*VIP, "staff_access", "forums_moderate", "chat_moderate",
                   "comments_moderate", "reports_handle"]
MODERATOR = [*FORUM_MODERATOR, "users_view_private", "torrents_moderate", "torrents_edit_any",
             "torrents_delete_any", "moderation_queue", "users_warn", "users_ban", "audit_view",
             "admin_access"]
ADMINISTRATOR = [*MODERATOR, "users_edit", "site_settings"]
SYSOP = [*ADMINISTRATOR, "groups_edit", "design_edit"]

# name, display name, rank, colour, permissions, extra columns
GROUPS = [
    ("banned", "Banned", 0, "#555555", [], {}),
    ("validating", "Validating", 10, "#999999", [], {}),
    ("member", "Member", 100, "#7f8c8d", MEMBER, {}),
    ("power_user", "Power User", 200, "#2e86c1", POWER_USER,
     {"invite_allowance": 2, "auto_promote": True, "min_uploaded": 25 * GIB,
      "min_ratio": "1.05", "min_account_age_days": 28}),
    ("elite", "Elite", 300, "#8e44ad", POWER_USER,
     {"invite_allowance": 4, "auto_promote": True, "min_uploaded": 100 * GIB,
      "min_ratio": "1.05", "min_account_age_days": 56, "min_uploads": 5}),
    ("torrent_master", "Torrent Master", 400, "#d35400", TORRENT_MASTER,
     {"invite_allowance": 6, "auto_promote": True, "min_uploaded": 500 * GIB,
      "min_ratio": "1.05", "min_account_age_days": 90, "min_uploads": 50}),
    ("vip", "VIP", 500, "#f1c40f", VIP, {"invite_allowance": 10}),
    ("uploader", "Uploader", 550, "#27ae60", [*TORRENT_MASTER, "vip_access"],
     {"invite_allowance": 4}),
    ("designer", "Designer", 560, "#e84393", [*POWER_USER, "vip_access", "design_edit"],
     {"invite_allowance": 2}),
    ("forum_moderator", "Forum Moderator", 700, "#16a085", FORUM_MODERATOR,
     {"is_staff": True, "requires_2fa": True, "invite_allowance": 10}),
    ("moderator", "Moderator", 800, "#c0392b", MODERATOR,
     {"is_staff": True, "requires_2fa": True, "invite_allowance": 20}),
    ("administrator", "Administrator", 900, "#8b0000", ADMINISTRATOR,
     {"is_staff": True, "requires_2fa": True, "invite_allowance": 50}),
    ("sysop", "SysOp", 1000, "#000000", SYSOP,
     {"is_staff": True, "requires_2fa": True, "invite_allowance": 100}),
]


def create_groups(apps, schema_editor):
    UserGroup = apps.get_model("accounts", "UserGroup")
    for name, display, rank, color, perms, extra in GROUPS:
        UserGroup.objects.update_or_create(
            name=name,
            defaults={"display_name": display, "rank": rank, "color": color,
                      "permissions": sorted(set(perms)), **extra},
        )


def delete_groups(apps, schema_editor):
    apps.get_model("accounts", "UserGroup").objects.filter(
        name__in=[g[0] for g in GROUPS]).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_groups, delete_groups)]
