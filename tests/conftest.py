from __future__ import annotations

import pytest

from tests.factories import make_user


@pytest.fixture
def member(db):
    return make_user("member")


@pytest.fixture
def uploader(db):
    return make_user("uploader")


@pytest.fixture
def moderator(db):
    return make_user("moderator")


@pytest.fixture
def sysop(db):
    return make_user("sysop")


@pytest.fixture
def banned(db):
    return make_user("banned")
