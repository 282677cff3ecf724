"""Schemathesis against our own OpenAPI document: every operation of /api/v1/, with
generated valid and invalid input, must answer only statuses, content types and bodies
the document declares, and never a server error. Examples are bounded so the suite stays
quick; the key holds every scope so each operation gets past authentication."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from tests.factories import make_user
from tests.frontend.api.conftest import key_for, listed

pytestmark = pytest.mark.django_db


# The document is read through the app itself (no database work is needed for it).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
unit3d_schema = schemathesis.openapi.from_wsgi("/api/unit3d/openapi.json",
                                               get_wsgi_application())


@pytest.fixture
def same_connection(db, settings):
    settings.API_RATE_PER_KEY = 100_000
    settings.API_RATE_PER_IP = 100_000
    settings.API_DOWNLOADS_PER_KEY = 100_000
    # The WSGI app is called in this thread, inside the test's transaction; a finished
    # request would close that connection (Django's own test client disconnects the same).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def full_key(db):
    user = make_user("uploader")
    listed(name="Schemathesis.Fixture.2024.1080p", uploader=user,
           metadata={"imdb_id": "tt0111161", "tmdb_id": 278})
    return key_for(user)


@schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_every_operation_conforms_to_the_document(case, same_connection, full_key):
    # Schema-valid input may still be refused on its meaning (an unknown category, too few
    # points, a file that is not a torrent): a 400 there is right, so that check is off.
    case.call_and_validate(headers={"Authorization": f"Bearer {full_key}"},
                           excluded_checks=[schemathesis.checks.positive_data_acceptance])


@unit3d_schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_every_unit3d_operation_conforms_to_its_document(case, same_connection, full_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {full_key}"},
                           excluded_checks=[schemathesis.checks.positive_data_acceptance])
