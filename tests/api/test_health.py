import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/health/", "/api/v1/health"])
def test_health_needs_no_auth_and_reports_local_only(client, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["storage"]["backends"] == ["local"]
    assert body["storage"]["cloudinary"] == "not configured"


def test_health_reports_cloudinary_first_when_configured(client, cloudinary):
    body = client.get("/api/v1/health/").json()
    assert body["storage"]["backends"] == ["cloudinary", "local"]
    assert body["storage"]["primary"] == "cloudinary"
    assert cloudinary.api_secret not in str(body)
