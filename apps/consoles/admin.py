"""Back-office view of console tickets (read-only: they are made by the console page)."""

from django.contrib import admin

from apps.consoles.models import ConsoleTicket


@admin.register(ConsoleTicket)
class ConsoleTicketAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "user",
        "guest",
        "serial",
        "node",
        "protocol",
        "expires_at",
        "redeemed_at",
    ]
    list_filter = ["protocol", "cluster"]
    search_fields = ["user__username", "guest__vmid", "node"]
    readonly_fields = [field.name for field in ConsoleTicket._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
