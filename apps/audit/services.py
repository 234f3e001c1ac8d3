"""Writing audit events. Call inside the transaction of the change being audited."""

from dataclasses import dataclass

from django.http import HttpRequest
from django_guid import get_guid

from apps.audit.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts: a person, an API token, a billing system or the portal itself."""

    name: str
    kind: AuditEvent.ActorKind

    @classmethod
    def user(cls, user: object) -> "Actor":
        return cls(name=user.get_username(), kind=AuditEvent.ActorKind.USER)

    @classmethod
    def token(cls, tokenid: str) -> "Actor":
        return cls(name=tokenid, kind=AuditEvent.ActorKind.TOKEN)

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(name=name, kind=AuditEvent.ActorKind.SYSTEM)

    @classmethod
    def anonymous(cls, claimed_name: str = "") -> "Actor":
        return cls(name=claimed_name, kind=AuditEvent.ActorKind.ANONYMOUS)


SYSTEM = Actor.system()


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address as the web server saw it (uvicorn applies trusted proxy headers)."""
    return request.META.get("REMOTE_ADDR") if request is not None else None


def audit_record(
    *,
    action: str,
    actor: Actor,
    target: str = "",
    request: HttpRequest | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        action=action,
        actor=actor.name,
        actor_kind=actor.kind,
        target=target,
        source_ip=client_address(request),
        request_id=get_guid() or "",
        detail=detail or {},
    )
