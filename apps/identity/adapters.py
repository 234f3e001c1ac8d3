"""django-allauth hooks."""

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Accounts come from invitations, realms and billing; open sign-up is opt-in."""
        return settings.ACCOUNT_ALLOW_REGISTRATION
