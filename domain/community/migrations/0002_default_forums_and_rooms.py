"""The seed's 7 forums (vip-lounge and staff restricted) and 5 chat rooms (vip and staff
restricted). Restriction is by permission code (vip_access, staff_access) on top of rank."""

from django.db import migrations

MEMBER_RANK = 100
FORUM_MODERATOR_RANK = 700

# slug, name, description, min read, min write, min topic, required permission
FORUMS = [
    ("announcements", "Announcements", "Site news from the staff.",
     MEMBER_RANK, MEMBER_RANK, FORUM_MODERATOR_RANK, ""),
    ("general", "General", "Talk about anything tracker related.",
     MEMBER_RANK, MEMBER_RANK, MEMBER_RANK, ""),
    ("support", "Support", "Questions about the site, your client or your account.",
     MEMBER_RANK, MEMBER_RANK, MEMBER_RANK, ""),
    ("requests", "Requests", "Discuss requests and help fill them.",
     MEMBER_RANK, MEMBER_RANK, MEMBER_RANK, ""),
    ("off-topic", "Off-Topic", "Everything else.", MEMBER_RANK, MEMBER_RANK, MEMBER_RANK, ""),
    ("vip-lounge", "VIP Lounge", "For VIPs, uploaders and staff.",
     MEMBER_RANK, MEMBER_RANK, MEMBER_RANK, "vip_access"),
    ("staff", "Staff", "Staff only.", MEMBER_RANK, MEMBER_RANK, MEMBER_RANK, "staff_access"),
]

# name, display name, description, required permission
ROOMS = [
    ("general", "General", "The main room.", ""),
    ("support", "Support", "Ask for help; staff and helpers answer.", ""),
    ("trading", "Trading", "Bonus point trades and requests.", ""),
    ("vip", "VIP", "For VIPs, uploaders and staff.", "vip_access"),
    ("staff", "Staff", "Staff only.", "staff_access"),
]


def create(apps, schema_editor):
    Forum = apps.get_model("community", "Forum")
    ChatRoom = apps.get_model("community", "ChatRoom")
    for order, (slug, name, desc, read, write, topic, perm) in enumerate(FORUMS, start=1):
        Forum.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "description": desc, "sort_order": order,
                      "min_rank_read": read, "min_rank_write": write,
                      "min_rank_create_topic": topic, "required_permission": perm})
    for order, (name, display, desc, perm) in enumerate(ROOMS, start=1):
        ChatRoom.objects.update_or_create(
            name=name,
            defaults={"display_name": display, "description": desc, "sort_order": order,
                      "min_rank": MEMBER_RANK, "required_permission": perm})


def delete(apps, schema_editor):
    apps.get_model("community", "Forum").objects.filter(slug__in=[f[0] for f in FORUMS]).delete()
    apps.get_model("community", "ChatRoom").objects.filter(
        name__in=[r[0] for r in ROOMS]).delete()


class Migration(migrations.Migration):
    dependencies = [("community", "0001_initial")]

    operations = [migrations.RunPython(create, delete)]
