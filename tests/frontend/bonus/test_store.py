"""The bonus store page: works without JS, errors on the field at fault, CSRF on, and the
spend permission checked on every POST."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from domain.accounts.models import User, UserStatistics
from domain.bonus.models import BonusTransaction, FreeleechToken
from domain.bonus.selectors import ledger_mismatches
from tests.domain.bonus.factories import fund
from tests.factories import PASSWORD, make_torrent, make_user

GIB = 1024**3

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def prices(settings):
    settings.BONUS_UPLOAD_PRICE_PER_GIB = "100"
    settings.BONUS_TOKEN_PRICE = "250"
    settings.BONUS_UPLOAD_MAX_GIB = 10


@pytest.fixture
def rich(db):
    user = make_user()
    fund(user, 1000)
    return user


def logged_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def balance(user: User) -> Decimal:
    user.refresh_from_db()
    return user.bonus_points


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/bonus/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.post("/bonus/upload/", {"gib": 1}).status_code == 302


def test_the_store_shows_balance_prices_forms_tokens_and_ledger(rich):
    FreeleechToken.objects.create(user=rich)

    response = logged_in(rich).get("/bonus/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<strong id="bonus-balance">1000.00</strong>' in html
    assert "100 points per GiB" in html and "250 points each" in html
    for action in ("/bonus/upload/", "/bonus/tokens/", "/bonus/tokens/use/", "/bonus/gift/"):
        assert f'action="{action}"' in html
    assert 'class="token token-available"' in html
    assert "test funds" in html  # the ledger row of the funding
    assert 'href="/bonus/"' in html  # nav link


def test_buying_upload_credit_redirects_with_a_message(rich):
    client = logged_in(rich)

    response = client.post("/bonus/upload/", {"gib": "3"}, follow=True)

    assert response.redirect_chain == [("/bonus/", 302)]
    assert "Added 3 GiB to your upload." in response.content.decode()
    assert balance(rich) == Decimal("700.00")
    assert UserStatistics.objects.get(user=rich).uploaded == 3 * GIB


def test_buying_tokens_and_using_one_on_a_torrent(rich):
    client = logged_in(rich)
    torrent = make_torrent(name="Debian.12.iso")

    client.post("/bonus/tokens/", {"quantity": "2"})
    response = client.post("/bonus/tokens/use/",
                           {"torrent": f"http://site.test/torrents/{torrent.pk}/"},
                           follow=True)

    html = response.content.decode()
    assert "makes “Debian.12.iso” free to download until" in html
    assert balance(rich) == Decimal("500.00")
    assert sorted(FreeleechToken.objects.filter(user=rich).values_list("status", flat=True)) \
        == ["active", "available"]
    assert 'class="token token-active"' in html


def test_gifts_carry_their_message_escaped(rich):
    friend = make_user()

    logged_in(rich).post("/bonus/gift/", {"recipient": friend.username, "amount": "25.5",
                                          "message": "<script>alert(1)</script> thanks"})

    assert balance(friend) == Decimal("25.50")
    html = logged_in(friend).get("/bonus/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; thanks" in html
    assert "<script>alert(1)</script>" not in html


@pytest.mark.parametrize(("url", "data", "field", "message"), [
    ("/bonus/upload/", {"gib": "-1"}, "gib", "greater than or equal to 1"),
    ("/bonus/upload/", {"gib": "11"}, "gib", "less than or equal to 10"),
    ("/bonus/upload/", {"gib": "abc"}, "gib", "Enter a whole number"),
    ("/bonus/tokens/", {"quantity": "5"}, "quantity", "costs 1,250 points and you have 1,000"),
    ("/bonus/tokens/", {"quantity": "0"}, "quantity", "greater than or equal to 1"),
    ("/bonus/gift/", {"recipient": "SELF", "amount": "5"}, "recipient",
     "cannot gift points to yourself"),
    ("/bonus/gift/", {"recipient": "no-such-member", "amount": "5"}, "recipient",
     "no active member called"),
    ("/bonus/gift/", {"recipient": "FRIEND", "amount": "-5"}, "amount",
     "greater than or equal to 0.01"),
    ("/bonus/gift/", {"recipient": "FRIEND", "amount": "1000.01"}, "amount",
     "costs 1,000.01 points and you have 1,000.00"),
    ("/bonus/tokens/use/", {"torrent": "not a link"}, "torrent", "not a torrent link"),
    ("/bonus/tokens/use/", {"torrent": "TORRENT"}, "torrent", "no unused freeleech token"),
])
def test_bad_input_shows_the_error_on_its_field_and_changes_nothing(rich, url, data, field,
                                                                   message):
    friend = make_user()
    torrent = make_torrent()
    names = {"SELF": rich.username, "FRIEND": friend.username, "TORRENT": str(torrent.pk)}
    data = {k: names.get(v, v) for k, v in data.items()}
    rows = BonusTransaction.objects.count()

    response = logged_in(rich).post(url, data)

    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-field="{field}">' in html
    assert message in html
    assert balance(rich) == Decimal("1000.00")
    assert BonusTransaction.objects.count() == rows
    assert ledger_mismatches() == []


def test_a_torrent_that_does_not_exist_is_a_clear_404(rich):
    FreeleechToken.objects.create(user=rich)
    response = logged_in(rich).post("/bonus/tokens/use/",
                                    {"torrent": "00000000-0000-0000-0000-000000000000"})
    assert response.status_code == 404
    assert "does not exist" in response.content.decode()


def test_posts_without_a_csrf_token_are_refused(rich):
    client = logged_in(rich, csrf=True)

    assert client.post("/bonus/upload/", {"gib": "1"}).status_code == 403
    assert balance(rich) == Decimal("1000.00")


def test_the_csrf_token_from_the_page_is_accepted(rich):
    client = logged_in(rich, csrf=True)
    client.get("/bonus/")
    token = client.cookies["csrftoken"].value

    response = client.post("/bonus/upload/", {"gib": "1", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert balance(rich) == Decimal("900.00")


def test_members_without_the_spend_permission_see_no_forms_and_are_refused(rich):
    from domain.accounts.models import UserGroup

    group = UserGroup.objects.create(name="no-spend", display_name="No spend", rank=9999,
                                     permissions=["site_access"])
    User.objects.filter(pk=rich.pk).update(group=group)
    rich.refresh_from_db()
    client = logged_in(rich)

    page = client.get("/bonus/").content.decode()
    assert "may not spend bonus points" in page
    assert 'action="/bonus/upload/"' not in page
    for url, data in [("/bonus/upload/", {"gib": "1"}), ("/bonus/tokens/", {"quantity": "1"}),
                      ("/bonus/gift/", {"recipient": make_user().username, "amount": "1"}),
                      ("/bonus/tokens/use/", {"torrent": str(make_torrent().pk)})]:
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert "spend bonus points" in response.content.decode()
    assert balance(rich) == Decimal("1000.00")


def test_the_store_page_queries_do_not_grow_with_tokens_and_ledger_rows(
        rich, django_assert_max_num_queries):
    from django.utils import timezone

    for _ in range(3):
        FreeleechToken.objects.create(user=rich, status="active", torrent=make_torrent(),
                                      activated_at=timezone.now())
        FreeleechToken.objects.create(user=rich)
        logged_in(rich).post("/bonus/gift/", {"recipient": make_user().username,
                                              "amount": "1"})
    client = logged_in(rich)
    with django_assert_max_num_queries(10):
        response = client.get("/bonus/")
    assert response.content.decode().count('class="token token-active"') == 3


def test_gets_only_on_the_page_and_posts_only_on_actions(rich):
    client = logged_in(rich)
    assert client.post("/bonus/").status_code == 405
    assert client.get("/bonus/upload/").status_code == 405


def test_login_with_password_reaches_the_store(rich):
    client = Client()
    client.post("/login/", {"username": rich.username, "password": PASSWORD})
    assert client.get("/bonus/").status_code == 200
