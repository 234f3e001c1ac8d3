from django.apps import AppConfig


class TenantAdminConfig(AppConfig):
    name = "apps.tenantadmin"
    label = "tenantadmin"
    verbose_name = "Tenant administration"
