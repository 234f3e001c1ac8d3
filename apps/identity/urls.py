from django.urls import path

from apps.identity import account_views, views

app_name = "identity"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify, name="login-verify"),
    path("login/enrol/", views.login_enrol, name="login-enrol"),
    path("account/security/", views.account_security, name="security"),
    path("account/security/totp/", views.account_totp_enrol, name="totp-enrol"),
    path("account/security/totp/remove/", views.account_totp_remove, name="totp-remove"),
    path("account/security/recovery-codes/", views.account_recovery_codes, name="recovery-codes"),
    path("account/tokens/", account_views.account_tokens, name="tokens"),
    path(
        "account/tokens/<str:name>/revoke/",
        account_views.account_token_revoke,
        name="token-revoke",
    ),
    path("account/sessions/", account_views.account_sessions, name="sessions"),
    path(
        "account/sessions/<int:session_id>/end/",
        account_views.account_session_end,
        name="session-end",
    ),
    path(
        "account/sessions/end-others/",
        account_views.account_sessions_end_others,
        name="sessions-end-others",
    ),
]
