"""Signing in and out, resetting a password by email, and switching organizations in the
dashboard."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Membership, User
from accounts.services import membership_set
from audit.models import AuditEvent
from tests.conftest import PASSWORD, OrgTrio

pytestmark = pytest.mark.django_db


def test_signing_in_opens_the_dashboard_and_a_wrong_password_says_so(trio: OrgTrio) -> None:
    client = Client()
    wrong = client.post("/login/", {"username": trio.owner.email, "password": "nope"})
    assert wrong.status_code == 200
    assert "correct email and password" in wrong.content.decode()

    right = client.post(
        "/login/?next=/overview/domains",
        {"username": trio.owner.email, "password": PASSWORD, "next": "/overview/domains"},
    )
    assert right.url == "/overview/domains"
    assert client.get("/overview/domains").status_code == 200


def test_signing_out_needs_a_post_and_ends_the_session(trio: OrgTrio) -> None:
    client = Client()
    client.force_login(trio.owner)

    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").url == "/login/"
    assert client.get("/overview/domains").status_code == 302


def test_a_password_is_reset_through_the_emailed_link_once(trio: OrgTrio) -> None:
    client = Client()
    assert "Forgot your password?" in client.get("/login/").content.decode()

    sent = client.post("/password-reset/", {"email": "OWNER@acme.test"})
    assert sent.url == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [trio.owner.email]
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)

    form = client.get(link, follow=True)
    assert "Set a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {
            "new_password1": "a brand new passphrase 42",
            "new_password2": "a brand new passphrase 42",
        },
    )
    assert done.url == "/password-reset/done/"
    trio.owner.refresh_from_db()
    assert trio.owner.check_password("a brand new passphrase 42")
    reused = client.get(link, follow=True).content.decode()
    assert "already been used or has expired" in reused


def test_a_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(db: None) -> None:
    response = Client().post("/password-reset/", {"email": "nobody@example.test"})

    assert response.url == "/password-reset/sent/"
    assert not mail.outbox


def test_the_switcher_moves_the_session_to_another_of_the_users_organizations(
    trio: OrgTrio,
) -> None:
    membership_set(
        organization=trio.other_organization, user=trio.staff, role=Membership.Role.OWNER
    )
    client = Client()
    client.force_login(trio.staff)
    first = client.get("/overview/domains").content.decode()
    assert 'name="organization_id"' in first
    assert "Globex (owner)" in first

    switched = client.post(
        "/overview/organization", {"organization_id": trio.other_organization.pk}, follow=True
    )

    page = switched.content.decode()
    assert "Now working in Globex." in page
    assert "Add domain" in page  # an owner there
    assert AuditEvent.objects.filter(
        action="session.organization_switched", organization_id=trio.other_organization.pk
    ).exists()


def test_the_switcher_refuses_an_organization_the_user_is_not_in(trio: OrgTrio) -> None:
    client = Client()
    client.force_login(trio.staff)

    response = client.post(
        "/overview/organization", {"organization_id": trio.other_organization.pk}, follow=True
    )

    assert "not one of yours" in response.content.decode()
    assert client.session.get("organization_id") != trio.other_organization.pk
    assert "Globex" not in client.get("/overview/domains").content.decode()


def test_a_user_in_no_organization_is_told_so(db: None) -> None:
    loner = User.objects.create_user("loner@example.test", PASSWORD)
    client = Client()
    client.force_login(loner)

    response = client.get("/overview/domains")

    assert response.status_code == 403
    assert "not in an organization yet" in response.content.decode()
