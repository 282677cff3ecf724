"""Requests with bounties: every point moves through the ledger in the request's
transaction, concurrent votes cannot overdraw, one of two concurrent fills wins, unfill and
delete give the points back. After every test the ledger is verified with the same check as
`manage.py bonus_verify_ledger`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from domain.accounts.models import User, UserStatistics
from domain.bonus.models import BonusTransaction
from domain.catalog.models import (
    TorrentCategory,
    TorrentRequest,
    TorrentRequestBounty,
    TorrentRequestVote,
)
from domain.catalog.request_selectors import RequestFilters, request_page, requests_browse
from domain.catalog.requests import (
    request_comment_post,
    request_create,
    request_delete,
    request_fill,
    request_unfill,
    request_vote,
    request_vote_refund,
)
from domain.community.models import Notification
from domain.errors import Conflict, DomainError, NotFound, NotPermitted, ValidationFailed
from domain.moderation.models import AuditLog, Ban
from tests.domain.bonus.factories import fund
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_verified(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if request.node.get_closest_marker("django_db") is not None:
        call_command("bonus_verify_ledger")  # exits 1 on any mismatch


@pytest.fixture(autouse=True)
def request_settings(settings):
    settings.REQUEST_MIN_BOUNTY = "100"
    settings.REQUEST_SELF_FILL_GRACE_HOURS = 72


def hd() -> TorrentCategory:
    return TorrentCategory.objects.get(slug="movies-hd")


def balance(user: User) -> Decimal:
    return User.objects.get(pk=user.pk).bonus_points


def stats(user: User) -> UserStatistics:
    return UserStatistics.objects.get(user=user)


def ledger(user: User) -> list[tuple[str, Decimal]]:
    return [(t.transaction_type, t.amount) for t in
            BonusTransaction.objects.filter(user=user).exclude(transaction_type="adjustment")
            .order_by("created_at")]


def new_request(requester: User, bounty: str = "100", **extra) -> TorrentRequest:
    return request_create(requester=requester, category_id=hd().pk,
                          title=extra.pop("title", "Night of the Comet 1984 1080p"),
                          bounty=bounty, **extra)


def test_create_takes_the_first_bounty_and_counts_the_vote(member):
    fund(member, 500)

    req = new_request(member, "150", description="The Blu-ray please",
                      requirements={"resolution": "1080p", "imdb_id": "tt0087799",
                                    "tmdb_id": "9507", "source": ""})

    req.refresh_from_db()
    assert (req.status, req.bounty_total, req.vote_count) == ("open", Decimal("150"), 1)
    assert req.requirements == {"resolution": "1080p", "imdb_id": "tt0087799", "tmdb_id": 9507}
    assert balance(member) == Decimal("350")
    assert ledger(member) == [("bounty_placed", Decimal("-150"))]
    assert stats(member).requests_voted_count == 1


@pytest.mark.parametrize(("bounty", "message"), [
    ("99.99", "least bounty is 100"), ("0", "least bounty"), ("-5", "least bounty"),
    ("abc", "Enter a bounty"), ("NaN", "Enter a bounty"), ("1e400", "at most"),
    ("100.001", "two decimals"), ("99999999999999", "at most"), ("", "Enter a bounty"),
])
def test_bad_bounties_are_refused_and_nothing_moves(member, bounty, message):
    fund(member, 500)

    with pytest.raises(ValidationFailed, match=message) as error:
        new_request(member, bounty)

    assert error.value.field == "amount"
    assert not TorrentRequest.objects.exists()
    assert balance(member) == Decimal("500") and ledger(member) == []


def test_a_bounty_beyond_the_balance_is_refused_with_the_figures(member):
    fund(member, 120)

    with pytest.raises(ValidationFailed, match=r"costs 200 points and you have 120\.00"):
        new_request(member, "200")

    assert not TorrentRequest.objects.exists()
    assert balance(member) == Decimal("120")


@pytest.mark.parametrize(("requirements", "field"), [
    ({"imdb_id": "0087799"}, "imdb_id"), ({"tmdb_id": "-3"}, "tmdb_id"),
    ({"tmdb_id": "99999999999"}, "tmdb_id"), ({"musicbrainz_id": "nope"}, "musicbrainz_id"),
    ({"year": "1200"}, "year"), ({"resolution": "x" * 17}, "resolution"),
])
def test_bad_requirements_name_their_field(member, requirements, field):
    fund(member, 500)
    with pytest.raises(ValidationFailed) as error:
        new_request(member, requirements=requirements)
    assert error.value.field == field
    assert balance(member) == Decimal("500")


@pytest.mark.parametrize(("slug", "requirements", "field"), [
    ("music-flac", {"video_codec": "x264"}, "video_codec"),
    ("music", {"imdb_id": "tt0087799"}, "imdb_id"),
    ("games-pc", {"resolution": "1080p"}, "resolution"),
    ("books-ebooks", {"musicbrainz_id": "5b11f4ce-a62d-471e-81fc-a69a8278c7da"},
     "musicbrainz_id"),
    ("movies-hd", {"igdb_id": "1942"}, "igdb_id"),
    ("movies-hd", {"tvdb_id": "81189"}, "tvdb_id"),
])
def test_details_the_category_does_not_have_are_field_errors(member, slug, requirements,
                                                             field):
    fund(member, 500)
    with pytest.raises(ValidationFailed, match="requests do not name") as error:
        request_create(requester=member, category_id=TorrentCategory.objects.get(
            slug=slug).pk, title="Something", bounty="100", requirements=requirements)
    assert error.value.field == field
    assert not TorrentRequest.objects.exists() and balance(member) == Decimal("500")


def test_each_category_keeps_the_details_it_has(member, moderator):
    fund(member, 500)
    cases = {"music-flac": {"format": "FLAC", "source": "CD", "audio_codec": "FLAC",
                            "musicbrainz_id": "5b11f4ce-a62d-471e-81fc-a69a8278c7da"},
             "games-console": {"igdb_id": "1942", "format": "ISO", "year": "2015"},
             "tv-hd": {"tvdb_id": "81189", "resolution": "1080p", "imdb_id": "tt0903747"}}
    made = {slug: request_create(requester=member, title=slug, bounty="100",
                                 category_id=TorrentCategory.objects.get(slug=slug).pk,
                                 requirements=wanted)
            for slug, wanted in cases.items()}
    assert made["games-console"].requirements == {"igdb_id": 1942, "format": "ISO",
                                                  "year": 2015}
    assert made["tv-hd"].requirements["tvdb_id"] == 81189
    # An edit is held to the same rule, for staff as for the requester.
    from domain.catalog.requests import request_edit
    with pytest.raises(ValidationFailed) as error:
        request_edit(actor=moderator, request_id=made["music-flac"].pk, title="x",
                     requirements={"resolution": "2160p"})
    assert error.value.field == "resolution"
    assert TorrentRequest.objects.get(pk=made["music-flac"].pk).title == "music-flac"


@pytest.mark.parametrize(("title", "field"), [("", "title"), ("   ", "title"),
                                              ("x" * 256, "title"), ("a\x00b", "title")])
def test_bad_titles_are_refused(member, title, field):
    fund(member, 500)
    with pytest.raises(ValidationFailed) as error:
        new_request(member, title=title)
    assert error.value.field == field


def test_who_may_create(member, banned):
    power = make_user("power_user")
    fund(power, 200)
    new_request(power)
    with pytest.raises(NotPermitted):
        new_request(banned)
    nobody = make_user("validating")
    with pytest.raises(NotPermitted):
        new_request(nobody)


def test_votes_add_bounty_and_count_each_voter_once(member):
    requester, other = make_user(), make_user()
    fund(requester, 100)
    fund(other, 1000)
    req = new_request(requester)

    request_vote(user=other, request_id=req.pk, amount="250")
    request_vote(user=other, request_id=req.pk, amount="100")

    req.refresh_from_db()
    assert (req.bounty_total, req.vote_count) == (Decimal("450"), 2)
    assert balance(other) == Decimal("650")
    assert ledger(other) == [("bounty_placed", Decimal("-250")),
                             ("bounty_placed", Decimal("-100"))]
    assert TorrentRequestVote.objects.filter(request=req).count() == 2
    assert stats(other).requests_voted_count == 1


def test_voting_on_a_missing_or_filled_request_is_refused(member, uploader):
    fund(member, 1000)
    req = new_request(member)
    torrent = make_torrent(uploader=uploader)
    request_fill(filler=uploader, request_id=req.pk, torrent=str(torrent.pk))
    before = balance(member)

    with pytest.raises(Conflict, match="filled"):
        request_vote(user=member, request_id=req.pk, amount="100")
    with pytest.raises(NotFound):
        request_vote(user=member, request_id="00000000-0000-0000-0000-000000000000",
                     amount="100")
    with pytest.raises(NotFound):
        request_vote(user=member, request_id="not-a-uuid", amount="100")

    assert balance(member) == before
    assert TorrentRequestBounty.objects.filter(user=member).count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_votes_cannot_overdraw():
    """Ten real transactions on their own connections spend one balance on two requests;
    exactly as many as the balance pays for get through."""
    voter, requester = make_user(), make_user()
    fund(requester, 200)
    fund(voter, 450)  # four bounties of 100 fit
    requests = [new_request(requester, title=f"Request {i}") for i in range(2)]
    barrier = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def vote(i: int) -> None:
        try:
            barrier.wait()
            request_vote(user=voter, request_id=requests[i % 2].pk, amount="100")
            result = "ok"
        except DomainError as exc:
            result = exc.code
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=vote, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["insufficient_points"] * 6 + ["ok"] * 4
    assert balance(voter) == Decimal("50")
    totals = sorted(TorrentRequest.objects.values_list("bounty_total", flat=True))
    assert sum(totals) == Decimal("600")  # 2 x 100 from the requester, 4 x 100 from the voter
    assert TorrentRequestBounty.objects.filter(user=voter).count() == 4
    assert BonusTransaction.objects.filter(user=voter,
                                           transaction_type="bounty_placed").count() == 4


def test_fill_pays_the_whole_bounty_and_notifies_every_voter(uploader):
    requester, voter = make_user(), make_user()
    fund(requester, 300)
    fund(voter, 300)
    req = new_request(requester, "300")
    request_vote(user=voter, request_id=req.pk, amount="200")
    torrent = make_torrent(uploader=uploader, category=hd())
    before = balance(uploader)

    request_fill(filler=uploader, request_id=req.pk,
                 torrent=f"https://site.test/torrents/{torrent.pk}/")

    req.refresh_from_db()
    assert (req.status, req.filler_id, req.filled_torrent_id) == ("filled", uploader.pk,
                                                                  torrent.pk)
    assert balance(uploader) == before + Decimal("500")
    assert ledger(uploader) == [("bounty_awarded", Decimal("500"))]
    assert stats(uploader).requests_filled_count == 1
    for user in (requester, voter):
        note = Notification.objects.get(user=user, target_id=req.pk)
        assert (note.kind, note.title) == ("request_filled",
                                           f"Your request {req.title} was filled")
        assert note.url == f"/requests/{req.pk}/"
    assert Notification.objects.get(user=uploader, target_id=req.pk).kind == "request_filled"
    assert not Notification.objects.filter(target_id=req.pk, kind="system").exists()


@pytest.mark.django_db(transaction=True)
async def test_a_voter_is_told_of_the_fill_live():
    from asgiref.sync import sync_to_async

    from tests.consumers.sockets import open_socket, session_headers

    def setup():
        requester, voter, filler = make_user(), make_user(), make_user("uploader")
        fund(requester, 100)
        fund(voter, 100)
        req = new_request(requester)
        request_vote(user=voter, request_id=req.pk, amount="100")
        return req, voter, filler, make_torrent(uploader=filler, category=hd())

    req, voter, filler, torrent = await sync_to_async(setup)()
    headers = await sync_to_async(session_headers)(voter)
    async with open_socket(headers) as socket:
        await sync_to_async(request_fill)(filler=filler, request_id=req.pk,
                                          torrent=str(torrent.pk))
        frame = await socket.receive_json_from(timeout=10)
    assert frame["type"] == "notification"
    assert frame["payload"]["kind"] == "request_filled"
    assert frame["payload"]["title"] == f"Your request {req.title} was filled"


def test_fill_of_a_parent_category_request_with_a_subcategory_torrent(uploader, member):
    fund(member, 100)
    req = request_create(requester=member, category_id=TorrentCategory.objects.get(
        slug="movies").pk, title="Any movie", bounty="100")
    request_fill(filler=uploader, request_id=req.pk,
                 torrent=str(make_torrent(uploader=uploader, category=hd()).pk))
    assert TorrentRequest.objects.get(pk=req.pk).status == "filled"


@pytest.mark.parametrize("case", ["missing", "garbage", "pending", "rejected", "deleted",
                                  "mismatch"])
def test_bad_fills_are_refused_and_nothing_moves(uploader, member, case):
    fund(member, 100)
    req = new_request(member)
    if case == "missing":
        ref = "00000000-0000-0000-0000-000000000000"
    elif case == "garbage":
        ref = "' OR 1=1 --"
    elif case in ("pending", "rejected"):
        ref = str(make_torrent(uploader=uploader, status=case).pk)
    elif case == "deleted":
        ref = str(make_torrent(uploader=uploader, deleted_at=timezone.now()).pk)
    else:
        ref = str(make_torrent(uploader=uploader,
                               category=TorrentCategory.objects.get(slug="music-flac")).pk)
    before = balance(uploader)

    with pytest.raises(ValidationFailed) as error:
        request_fill(filler=uploader, request_id=req.pk, torrent=ref)

    assert error.value.field == "torrent"
    assert TorrentRequest.objects.get(pk=req.pk).status == "open"
    assert balance(uploader) == before
    assert stats(uploader).requests_filled_count == 0


def test_the_requester_fills_with_their_own_upload_only_after_the_grace_period(member):
    fund(member, 100)
    req = new_request(member)
    torrent = make_torrent(uploader=member)

    with pytest.raises(NotPermitted, match="72 hours"):
        request_fill(filler=member, request_id=req.pk, torrent=str(torrent.pk))
    other = make_user()
    with pytest.raises(NotPermitted, match="requester's own upload"):
        request_fill(filler=other, request_id=req.pk, torrent=str(torrent.pk))
    assert balance(member) == Decimal("0")

    request_fill(filler=member, request_id=req.pk, torrent=str(torrent.pk),
                 now=timezone.now() + timedelta(hours=73))
    assert balance(member) == Decimal("100")


def test_a_member_banned_from_uploading_cannot_fill(member, uploader):
    fund(member, 100)
    req = new_request(member)
    Ban.objects.create(ban_type="upload", user=uploader, reason="fakes")
    with pytest.raises(NotPermitted, match="banned from uploading"):
        request_fill(filler=uploader, request_id=req.pk,
                     torrent=str(make_torrent(uploader=uploader).pk))


@pytest.mark.django_db(transaction=True)
def test_of_two_concurrent_fills_exactly_one_wins():
    requester, first, second = make_user(), make_user("uploader"), make_user("uploader")
    fund(requester, 400)
    req = new_request(requester, "400")
    torrents = {first.pk: make_torrent(uploader=first), second.pk: make_torrent(uploader=second)}
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def fill(user: User) -> None:
        try:
            barrier.wait()
            request_fill(filler=user, request_id=req.pk, torrent=str(torrents[user.pk].pk))
            outcomes[user.username] = "won"
        except DomainError as exc:
            outcomes[user.username] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fill, args=(u,)) for u in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes.values()) == ["request_not_open", "won"]
    winner = first if outcomes[first.username] == "won" else second
    loser = second if winner is first else first
    req.refresh_from_db()
    assert req.filler_id == winner.pk
    assert balance(winner) == Decimal("400") and balance(loser) == Decimal("0")
    assert BonusTransaction.objects.filter(transaction_type="bounty_awarded").count() == 1


def test_unfill_takes_the_bounty_back_from_the_filler(member, uploader, moderator):
    fund(member, 300)
    req = new_request(member, "300")
    request_fill(filler=uploader, request_id=req.pk,
                 torrent=str(make_torrent(uploader=uploader).pk))

    request_unfill(actor=member, request_id=req.pk, reason="Wrong edition")

    req.refresh_from_db()
    assert (req.status, req.filler_id, req.filled_torrent_id, req.bounty_total) == (
        "open", None, None, Decimal("300"))
    assert balance(uploader) == Decimal("0")
    assert ledger(uploader) == [("bounty_awarded", Decimal("300")),
                                ("bounty_awarded", Decimal("-300"))]
    assert stats(uploader).requests_filled_count == 0
    entry = AuditLog.objects.get(action="request.unfill")
    assert entry.metadata["shortfall"] == "0.00" and entry.metadata["reason"] == "Wrong edition"
    # The filler is told what was taken back, in the request_unfilled kind; the requester
    # unfilled it and is not told of their own act.
    note = Notification.objects.get(user=uploader, kind="request_unfilled")
    assert (note.title, note.body, note.url, note.actor_id, note.target_id) == (
        f"Your fill of {req.title} was unfilled: 300.00 points taken back", "Wrong edition",
        f"/requests/{req.pk}/", member.pk, req.pk)
    assert not Notification.objects.filter(user=member, kind="request_unfilled").exists()
    assert not Notification.objects.filter(target_id=req.pk, kind="system").exists()
    # It can be filled again, and pays the whole pot again.
    request_fill(filler=uploader, request_id=req.pk,
                 torrent=str(make_torrent(uploader=uploader).pk))
    assert balance(uploader) == Decimal("300")


def test_unfill_when_the_filler_spent_the_bounty_reopens_with_what_came_back(member,
                                                                             uploader):
    requester, voter = member, make_user()
    fund(requester, 100)
    fund(voter, 300)
    req = new_request(requester, "100")
    request_vote(user=voter, request_id=req.pk, amount="300")
    request_fill(filler=uploader, request_id=req.pk,
                 torrent=str(make_torrent(uploader=uploader).pk))
    from domain.bonus.services import bonus_buy_upload
    bonus_buy_upload(user=uploader, gib=3)  # 300 of the 400 spent (100 per GiB)

    request_unfill(actor=requester, request_id=req.pk, reason="Fake")

    req.refresh_from_db()
    assert (req.status, req.bounty_total) == ("open", Decimal("100"))
    assert balance(uploader) == Decimal("0")
    # The newest bounty (the voter's 300) lost the 300 shortfall; the requester's stands.
    assert list(TorrentRequestBounty.objects.filter(request=req)
                .values_list("user_id", "amount")) == [(requester.pk, Decimal("100"))]
    entry = AuditLog.objects.get(action="request.unfill")
    assert entry.metadata["shortfall"] == "300.00"
    assert entry.metadata["trimmed"] == [{"bounty_id": entry.metadata["trimmed"][0]["bounty_id"],
                                          "user_id": str(voter.pk), "amount": "300.00"}]
    # The voter whose bounty paid for the shortfall is told so, and by how much; the filler
    # is told what came back (100 of 400).
    note = Notification.objects.get(user=voter, kind="request_unfilled")
    assert note.title == f"The request {req.title} was unfilled and is open again"
    assert note.body == ("Fake\nThe filler had spent part of the bounty: 300.00 points of "
                         "yours did not come back to the request.")
    assert note.payload["cut"] == "300.00" and note.payload["bounty_total"] == "100.00"
    assert Notification.objects.get(user=uploader, kind="request_unfilled").title == (
        f"Your fill of {req.title} was unfilled: 100.00 points taken back")
    assert not Notification.objects.filter(kind__in=["system", "request_unfilled"],
                                           user=requester).exists()


def test_unfill_by_staff_tells_the_requester_the_filler_and_each_voter_once(member, uploader,
                                                                           moderator):
    voter = make_user()
    fund(member, 100)
    fund(voter, 300)
    req = new_request(member)
    request_vote(user=voter, request_id=req.pk, amount="100")
    request_vote(user=voter, request_id=req.pk, amount="200")
    request_fill(filler=uploader, request_id=req.pk,
                 torrent=str(make_torrent(uploader=uploader).pk))

    request_unfill(actor=moderator, request_id=req.pk, reason="Trumped")

    told = {n.user_id: n for n in Notification.objects.filter(kind="request_unfilled")}
    assert set(told) == {member.pk, voter.pk, uploader.pk}
    assert Notification.objects.filter(kind="request_unfilled").count() == 3
    for user in (member, voter):
        assert told[user.pk].title == f"The request {req.title} was unfilled and is open again"
        assert told[user.pk].body == "Trumped" and told[user.pk].payload["cut"] == "0"
    assert told[uploader.pk].title.endswith("400.00 points taken back")
    assert {n.actor_id for n in told.values()} == {moderator.pk}


def test_only_requester_filler_or_staff_may_unfill(member, uploader, moderator):
    fund(member, 100)
    req = new_request(member)
    request_fill(filler=uploader, request_id=req.pk,
                 torrent=str(make_torrent(uploader=uploader).pk))
    with pytest.raises(NotPermitted):
        request_unfill(actor=make_user(), request_id=req.pk, reason="no")
    with pytest.raises(ValidationFailed):
        request_unfill(actor=moderator, request_id=req.pk, reason=" ")
    request_unfill(actor=moderator, request_id=req.pk, reason="Dupe of a trumped release")
    with pytest.raises(Conflict, match="not filled"):
        request_unfill(actor=moderator, request_id=req.pk, reason="again")


def test_staff_delete_refunds_every_voter(member, moderator):
    voter = make_user()
    fund(member, 100)
    fund(voter, 500)
    req = new_request(member)
    request_vote(user=voter, request_id=req.pk, amount="150")
    request_vote(user=voter, request_id=req.pk, amount="250")

    with pytest.raises(NotPermitted):
        request_delete(actor=member, request_id=req.pk, reason="mine")
    refunds = request_delete(actor=moderator, request_id=req.pk, reason="Not allowed here")

    assert sorted(a for _, a in refunds) == [Decimal("100"), Decimal("150"), Decimal("250")]
    assert balance(member) == Decimal("100") and balance(voter) == Decimal("500")
    assert [t for t, _ in ledger(voter)] == ["bounty_placed", "bounty_placed",
                                             "bounty_refund", "bounty_refund"]
    req.refresh_from_db()
    assert req.deleted_at is not None and req.bounty_total == 0
    assert stats(voter).requests_voted_count == 0
    assert AuditLog.objects.filter(action="request.delete", actor=moderator).exists()
    # One notice a voter (both bounties in it), in the request_deleted kind, with the reason.
    note = Notification.objects.get(user=voter, target_id=req.pk)
    assert (note.kind, note.body, note.actor_id) == ("request_deleted", "Not allowed here",
                                                     moderator.pk)
    assert note.title == f"The request {req.title} was deleted: 400.00 points refunded"
    assert note.payload == {"request_id": str(req.pk), "refunded": "400.00"}
    assert Notification.objects.get(user=member, target_id=req.pk).kind == "request_deleted"
    with pytest.raises(NotFound):
        request_vote(user=voter, request_id=req.pk, amount="100")


def test_staff_refund_of_one_vote(member, moderator):
    voter = make_user()
    fund(member, 100)
    fund(voter, 200)
    req = new_request(member)
    bounty = request_vote(user=voter, request_id=req.pk, amount="200")

    request_vote_refund(actor=moderator, bounty_id=bounty.pk, reason="Asked for it back")

    assert balance(voter) == Decimal("200")
    assert TorrentRequest.objects.get(pk=req.pk).bounty_total == Decimal("100")
    note = Notification.objects.get(user=voter, target_id=req.pk)
    assert (note.kind, note.title, note.body, note.url) == (
        "bounty_refunded", f"Your bounty of 200.00 points on {req.title} was refunded",
        "Asked for it back", f"/requests/{req.pk}/")
    assert note.payload == {"request_id": str(req.pk), "refunded": "200.00"}
    assert not Notification.objects.filter(user=member).exists()
    with pytest.raises(Conflict):
        request_vote_refund(actor=moderator, bounty_id=bounty.pk, reason="again")
    with pytest.raises(NotPermitted):
        request_vote_refund(actor=member, bounty_id=bounty.pk, reason="x")


def test_browse_filters_and_sorts(member):
    fund(member, 10_000)
    cheap = new_request(member, "100", title="Alien 1979 remux",
                        requirements={"imdb_id": "tt0078748"})
    rich = new_request(member, "900", title="Aliens 1986 UHD")
    music = request_create(requester=member, category_id=TorrentCategory.objects.get(
        slug="music-flac").pk, title="Some album", bounty="500",
        requirements={"musicbrainz_id": "5b11f4ce-a62d-471e-81fc-a69a8278c7da"})

    def ids(**kw) -> list:
        page = requests_browse(user=member, filters=RequestFilters(**kw))
        return [r.pk for r in page.object_list]

    assert ids(sort="bounty") == [rich.pk, music.pk, cheap.pk]
    assert ids(sort="bounty", order="asc") == [cheap.pk, music.pk, rich.pk]
    assert ids(q="alien") == [rich.pk, cheap.pk]
    assert ids(q="1979 ALIEN") == [cheap.pk]
    assert ids(category="music") == [music.pk]
    assert ids(bounty_min=Decimal("200"), bounty_max=Decimal("600")) == [music.pk]
    assert ids(external_id="tt0078748") == [cheap.pk]
    assert ids(external_id="5B11F4CE-A62D-471E-81FC-A69A8278C7DA") == [music.pk]
    assert ids(q="%") == [] and ids(q="' OR 1=1") == []
    request_fill(filler=make_user("uploader"), request_id=rich.pk,
                 torrent=str(make_torrent(category=hd()).pk))
    assert ids(status="filled") == [rich.pk]
    assert set(ids(status="open")) == {cheap.pk, music.pk}


def test_request_page_hides_voters_and_filler_by_paranoia(member, moderator, uploader):
    shy = make_user()
    shy.privacy.show_requests_voted = False
    shy.privacy.save()
    uploader.privacy.show_requests_filled = False
    uploader.privacy.save()
    fund(member, 100)
    fund(shy, 300)
    req = new_request(member)
    request_vote(user=shy, request_id=req.pk, amount="300")
    request_fill(filler=uploader, request_id=req.pk,
                 torrent=str(make_torrent(uploader=uploader).pk))

    page = request_page(user=member, request_id=req.pk)
    assert [(v.user.username if v.user else None, v.amount) for v in page.voters] == [
        (None, Decimal("300")), (member.username, Decimal("100"))]
    assert page.filler is None and page.can_unfill and not page.can_delete
    staff_view = request_page(user=moderator, request_id=req.pk)
    assert staff_view.voters[0].user == shy and staff_view.filler == uploader
    own = request_page(user=shy, request_id=req.pk)
    assert own.voters[0].user == shy and own.my_bounty == Decimal("300")


def test_comments_on_requests_notify_and_count(member):
    other = make_user()
    fund(member, 100)
    req = new_request(member)

    first = request_comment_post(author=other, request_id=req.pk, body="Seconded")
    request_comment_post(author=member, request_id=req.pk, body="Thanks", quoted_id=first.pk)

    assert Notification.objects.filter(user=member, kind="request_comment").count() == 1
    assert not Notification.objects.filter(kind="torrent_comment").exists()
    assert Notification.objects.filter(user=other, kind="quote").count() == 1
    assert stats(other).comments_count == 1 and stats(member).comments_count == 1
    assert [c.body for c in request_page(user=other, request_id=req.pk).comments] == [
        "Seconded", "Thanks"]
    with pytest.raises(ValidationFailed):
        request_comment_post(author=other, request_id=req.pk, body="  ")
