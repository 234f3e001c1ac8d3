from django.http import HttpRequest


def query_without_page(request: HttpRequest) -> str:
    """The list's filters as a query string, for the pagination links to keep them."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
