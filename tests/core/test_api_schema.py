"""The OpenAPI document describes the API, including API-token authentication."""

import pytest

pytestmark = pytest.mark.django_db


def test_schema_lists_the_endpoints_and_the_token_scheme(client, django_user_model) -> None:
    from apps.identity.services.users import user_create

    client.force_login(user_create(userid="reader@pve", password="x"))
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/guests/",
        "/api/v1/guests/{vmid}/",
        "/api/v1/guests/{vmid}/status/{action}/",
        "/api/v1/operations/",
        "/api/v1/operations/{operation_id}/",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


def test_browsable_docs_are_served_without_a_cdn(client) -> None:
    from django.contrib.staticfiles import finders

    from apps.identity.services.users import user_create

    client.force_login(user_create(userid="reader@pve", password="x"))
    # Swagger UI's page loads its start-up script (naming the schema) from ?script.
    for url in ("/api/docs/?script", "/api/redoc/"):
        page = client.get(url).content.decode()
        assert "/api/schema/" in page
        assert "cdn" not in page.lower()
    swagger = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in swagger
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
