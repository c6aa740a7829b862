"""The API documentation works on an intranet: Swagger UI's files come from this server."""


def test_docs_load_nothing_from_elsewhere(client):  # type: ignore[no-untyped-def]
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text and "https://" not in page.text.split("<body>")[0]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        url = f"/static-offline-docs/{asset}"
        assert url in page.text
        assert client.get(url).status_code == 200
    assert client.get("/redoc").status_code == 200
