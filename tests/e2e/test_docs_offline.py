"""`make dev`'s /docs without internet: Swagger UI's page and files come from the local API itself."""

from __future__ import annotations

import re

from devtools.apigw import DOCS_ASSETS, swagger_ui_files

MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def test_the_docs_page_loads_nothing_from_elsewhere(http):
    page = http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(?i)https?://|//[a-z0-9]", page.text), "the page names another host"

    referenced = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(referenced) == [
        "/docs/assets/favicon.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    for url in referenced:
        asset = http.get(url)
        assert asset.status_code == 200, url
        media_type = asset.headers["content-type"].split(";")[0]
        assert media_type == MEDIA_TYPES[url[url.rindex(".") :]], (url, media_type)
        assert asset.content == (swagger_ui_files() / url.rsplit("/", 1)[1]).read_bytes()

    assert "url: '/openapi.json'" in page.text
    document = http.get("/openapi.json")
    assert document.status_code == 200 and document.json()["openapi"] == "3.1.0"


def test_the_bundled_swagger_ui_renders_openapi_3_1():
    """Swagger UI 4 answers an OpenAPI 3.1 document with "Unable to render this definition"; the 3.1
    support of Swagger UI 5 (its `isOAS31` checks) must be in the bundle served."""
    bundle = (swagger_ui_files() / "swagger-ui-bundle.js").read_text()
    assert "isOAS31" in bundle
    assert set(DOCS_ASSETS) <= {path.name for path in swagger_ui_files().iterdir()}


def test_only_swagger_ui_files_are_served_under_assets(http):
    for path in ("/docs/assets/redoc.standalone.js", "/docs/assets/..%2F__init__.py", "/docs/assets/"):
        response = http.get(path)
        assert response.status_code == 404, path
