"""Reports claimed and resolved over the socket: a moderator's action reaches every open
feed; a member who sends the same frames gets an error frame, keeps the connection, and
nothing changes in the database."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from domain.community.models import Forum
from domain.community.services import forum_topic_create
from domain.moderation.models import Report
from domain.moderation.reports import report_file
from tests.consumers.sockets import drain, next_frame, open_socket, subscribe
from tests.consumers.test_streams import assert_alive, error_of, user_and_headers
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def _report() -> Report:
    author, reporter = make_user("member"), make_user("member")
    topic = forum_topic_create(user=author, forum_id=Forum.objects.get(slug="general").id,
                               title="Rude", body="You are all idiots")
    return report_file(reporter=reporter, target_type="forum_post",
                       target_id=topic.posts.get().pk, reason="abuse")


async def test_claim_and_resolve_over_the_socket_update_the_other_feeds():
    mod, headers = await user_and_headers("moderator")
    _other, other_headers = await user_and_headers("moderator")
    _member, member_headers = await user_and_headers("member")
    report = await sync_to_async(_report)()
    async with (open_socket(headers) as m, open_socket(other_headers) as o,
                open_socket(member_headers) as s):
        snapshot = await subscribe(o, "moderation")
        assert [r["id"] for r in snapshot["payload"]["reports"]] == [str(report.pk)]

        # A member: error frames, the socket stays, the report untouched.
        for frame in ({"type": "moderation.claim", "id": 1,
                       "payload": {"kind": "report", "id": str(report.pk)}},
                      {"type": "moderation.resolve", "id": 2,
                       "payload": {"id": str(report.pk), "note": "mine now"}}):
            err = await error_of(s, frame)
            assert err["id"] == frame["id"] and err["payload"]["code"] == "forbidden"
        await assert_alive(s)
        await sync_to_async(report.refresh_from_db)()
        assert report.status == "open" and report.claimed_by_id is None

        await m.send_json_to({"type": "moderation.claim", "id": 3,
                              "payload": {"kind": "report", "id": str(report.pk)}})
        await drain(m, until=lambda f: f["type"] == "ok" and f["id"] == 3)
        claimed = await next_frame(o)
        assert claimed["event"] == "moderation.claimed"
        assert claimed["payload"] == {**claimed["payload"], "kind": "report",
                                      "id": str(report.pk), "claimed_by": mod.username}

        # The other moderator cannot resolve what is claimed by someone else.
        err = await error_of(o, {"type": "moderation.resolve", "id": 4,
                                 "payload": {"id": str(report.pk), "note": "done"}})
        assert err["payload"]["code"] == "claimed"
        err = await error_of(m, {"type": "moderation.resolve", "id": 5,
                                 "payload": {"id": str(report.pk), "note": "  "}})
        assert err["payload"]["code"] == "invalid"

        await m.send_json_to({"type": "moderation.resolve", "id": 6,
                              "payload": {"id": str(report.pk), "note": "Warned the author"}})
        frames = await drain(m, until=lambda f: f["type"] == "ok" and f["id"] == 6)
        assert next(f for f in frames if f["type"] == "ok")["payload"]["status"] == "resolved"
        resolved = await next_frame(o)
        assert resolved["event"] == "moderation.resolved"
        assert resolved["payload"]["resolved_by"] == mod.username
    await sync_to_async(report.refresh_from_db)()
    assert report.status == "resolved" and report.resolution_note == "Warned the author"
    assert report.resolved_by_id == mod.id
