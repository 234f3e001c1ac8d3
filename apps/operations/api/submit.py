"""How API views hand a request to a service that makes an operation: one answer shape (202
with the operation), Idempotency-Key replays, quota refusals as 409, validation errors per
field."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.access.engine import Principal
from apps.operations.api.serializers import OperationSerializer
from apps.operations.models import Operation
from apps.operations.selectors import operation_by_idempotency_key
from apps.tenancy.services import QuotaExceeded

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 128
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Any unique string (a UUID): the same key again returns the first answer's "
    "operation instead of acting twice.",
)


def _replayed(operation: Operation) -> Response:
    response = Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)
    response["Idempotent-Replayed"] = "true"
    return response


def submit(request: Request, actor: Principal, make: Callable[[str], Operation]) -> Response:
    """Call `make(idempotency_key)`. A key this actor already used answers with the operation
    it made, without doing anything again (also when two requests with it race)."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ApiValidationError(
            {IDEMPOTENCY_HEADER: [f"at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters"]}
        )
    existing = operation_by_idempotency_key(actor=actor, key=key)
    if existing is not None:
        return _replayed(existing)
    try:
        operation = make(key)
    except QuotaExceeded as error:
        return Response(
            {"detail": str(error), "exceeded": error.exceeded}, status=status.HTTP_409_CONFLICT
        )
    except ValidationError as error:
        raise ApiValidationError(
            error.message_dict if hasattr(error, "error_dict") else error.messages
        ) from error
    except IntegrityError:
        # The same key committed by a concurrent request first; its transaction rolled back.
        existing = operation_by_idempotency_key(actor=actor, key=key)
        if key and existing is not None:
            return _replayed(existing)
        raise
    return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)
