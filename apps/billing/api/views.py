"""REST API: hourly usage records of the caller's tenant (operators: all, or `?tenant=`)."""

import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.plumbing import build_array_type, build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.engine import actor_of
from apps.billing.api.renderers import CsvRenderer
from apps.billing.selectors import USAGE_COLUMNS, usage_rows
from apps.tenancy.selectors import tenant_get, tenant_list


def _moment(request: Request, name: str, default: datetime.datetime) -> datetime.datetime:
    """An ISO date (midnight UTC) or date-time; a time without zone is UTC."""
    given = request.query_params.get(name)
    if not given:
        return default
    moment = parse_datetime(given)
    if moment is None and (day := parse_date(given)) is not None:
        moment = datetime.datetime.combine(day, datetime.time())
    if moment is None:
        raise ValidationError({name: _("an ISO 8601 date or date-time")})
    moment = moment if timezone.is_aware(moment) else moment.replace(tzinfo=datetime.UTC)
    try:
        # In UTC: ISO 8601 allows offsets up to ±23:59, PostgreSQL only up to ±15:59.
        return moment.astimezone(datetime.UTC)
    except OverflowError as error:  # within a day of datetime's first or last moment
        raise ValidationError({name: _("an ISO 8601 date or date-time")}) from error


class UsageApi(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]
    csv_columns = USAGE_COLUMNS

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATETIME, description=_("default: to - 24 h")),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description=_("default: now")),
            OpenApiParameter("tenant", str, description=_("operators: one tenant's slug")),
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses={
            (200, "application/json"): build_array_type(build_basic_type(OpenApiTypes.OBJECT)),
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request: Request) -> Response:
        """Hourly records whose hour begins in [from, to), oldest first: vCPU-hours, memory
        and disk GB-hours, backup GB-hours, network bytes in and out (null: not measured)."""
        actor = actor_of(request)
        end = _moment(request, "to", timezone.now())
        try:
            day_before = end - datetime.timedelta(hours=24)
        except OverflowError as error:
            raise ValidationError({"to": _("an ISO 8601 date or date-time")}) from error
        start = _moment(request, "from", day_before)
        if start > end:
            raise ValidationError({"from": _("from must not be after to")})
        slug = request.query_params.get("tenant")
        tenants = (
            tenant_list(actor=actor).filter(pk=tenant_get(actor=actor, slug=slug).pk)
            if slug
            else tenant_list(actor=actor)
        )
        return Response(usage_rows(tenants=tenants, start=start, end=end))
