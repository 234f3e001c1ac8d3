"""REST API: plans on offer, tenants (operators: all; users: their own) and their quota use."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.engine import actor_of
from apps.guests.selectors import tenant_guest_usage
from apps.tenancy import selectors
from apps.tenancy.api.serializers import PlanSerializer, QuotaReportSerializer, TenantSerializer


class PlanListApi(generics.ListAPIView):
    serializer_class = PlanSerializer

    def get_queryset(self):
        return selectors.plan_list()


class TenantListApi(generics.ListAPIView):
    serializer_class = TenantSerializer

    def get_queryset(self):
        return selectors.tenant_list(actor=actor_of(self.request))


class TenantQuotaApi(APIView):
    @extend_schema(responses=QuotaReportSerializer)
    def get(self, request: Request, slug: str) -> Response:
        tenant = selectors.tenant_get(actor=actor_of(request), slug=slug)
        reserved = selectors.reserved(tenant=tenant)
        used = tenant_guest_usage(tenant=tenant) + reserved
        return Response(
            QuotaReportSerializer(
                {"limits": selectors.quota_limits(tenant=tenant).__dict__, "used": used.__dict__}
            ).data
        )
