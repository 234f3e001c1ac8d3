"""The sessions page lists where a user is signed in and signs other sessions out."""

import pytest
from django.test import Client

from tests.identity.conftest import login

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_sessions_are_listed_and_other_sessions_can_be_ended(alice) -> None:
    laptop = Client(HTTP_USER_AGENT="Laptop browser")
    phone = Client(HTTP_USER_AGENT="Phone browser")
    login(laptop, username="alice", password="alice-password-1")
    login(phone, username="alice", password="alice-password-1")

    page = laptop.get("/accounts/sessions/").content.decode()
    assert "Laptop browser" in page
    assert "Phone browser" in page

    laptop.post("/accounts/sessions/")

    assert phone.get("/").status_code == 302  # signed out
    assert laptop.get("/").status_code == 200
    assert "Phone browser" not in laptop.get("/accounts/sessions/").content.decode()


def test_logout_ends_the_session(client, alice) -> None:
    login(client, username="alice", password="alice-password-1")
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
