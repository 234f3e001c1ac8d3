"""Dashboard, resource tree, global search and storage content."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.backoffice.access import operator_required
from apps.backoffice.selectors import dashboard, search, storage, tree
from apps.guests.models import Guest

BACKUPS_PAGE_SIZE = 50


@operator_required
@never_cache
@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "backoffice/dashboard.html",
        {
            "clusters": dashboard.cluster_overviews(actor=request.user),
            "failed": dashboard.failed_operations(),
            "stalled": dashboard.stalled_operations(),
        },
    )


@operator_required
@never_cache
@require_GET
def tree_page(request: HttpRequest) -> HttpResponse:
    view = request.GET.get("view")
    context: dict[str, object] = {"query": ""}
    if view == "pool":
        context["pools"] = tree.pool_view()
    elif view == "folder":
        context["folders"] = tree.folder_view()
        context["pools"] = tree.pool_view()
    else:
        view = "server"
        context["clusters"] = tree.server_view()
    context["view"] = view
    return render(request, "backoffice/tree.html", context)


def _branch(request: HttpRequest, guests, title: str) -> HttpResponse:
    """A branch's guests, a page at a time: the fragment htmx puts into the opened branch, or a
    page of its own without JavaScript."""
    page = Paginator(guests, tree.BRANCH_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "title": title, "branch_url": request.path}
    if request.headers.get("HX-Request"):
        return render(request, "backoffice/_guest_branch.html", context)
    return render(request, "backoffice/tree_branch.html", context)


@operator_required
@never_cache
@require_GET
def node_branch(request: HttpRequest, cluster: str, node: str) -> HttpResponse:
    guests = tree.node_guests(cluster_name=cluster, node_name=node)
    return _branch(request, guests, f"{cluster} / {node}")


@operator_required
@never_cache
@require_GET
def type_branch(request: HttpRequest, cluster: str, guest_type: str) -> HttpResponse:
    guests = tree.type_guests(cluster_name=cluster, guest_type=guest_type)
    return _branch(request, guests, f"{cluster} / {Guest.Type(guest_type).label}")


@operator_required
@never_cache
@require_GET
def pool_branch(request: HttpRequest, name: str) -> HttpResponse:
    return _branch(request, tree.pool_guests(name=name), name)


@operator_required
@never_cache
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    results = search.search(query=request.GET.get("q", ""))
    return render(request, "backoffice/search.html", {"results": results, "query": results.query})


@operator_required
@never_cache
@require_GET
def storage_page(request: HttpRequest, cluster: str, storage_name: str) -> HttpResponse:
    content = storage.storage_content(cluster_name=cluster, storage_name=storage_name)
    backups = Paginator(content.backups, BACKUPS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "backoffice/storage.html", {"content": content, "backups": backups})
