"""The Django side of the live page: an admin entry without a table, staff only.

The page is the change list of the unmanaged ``Live`` model, so it sits in the admin index,
behind the admin's own login. Every staff member may look; closing connections takes the
``tornado_websockets.close_connections`` permission (checked again by the WebSocket on every
action). Worker thread, like every Django view.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from . import ADMIN_PATH
from .access import CLOSE_PERMISSION, is_staff

__all__ = ["LiveAdmin"]


class LiveAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Shows ``tornado_websockets/admin/live.html`` instead of a list of rows."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        from django.urls import path

        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.changelist_view)
        return [path("", view, name="{}_{}_changelist".format(*info))]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from django.core.exceptions import PermissionDenied

        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Live WebSocket connections",
            "opts": self.opts,
            "ws_path": ADMIN_PATH,
            "can_close": getattr(request.user, "has_perm")(CLOSE_PERMISSION),  # noqa: B009
            **(extra_context or {}),
        }
        return TemplateResponse(request, "tornado_websockets/admin/live.html", context)
