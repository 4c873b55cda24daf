"""`/docs` and `/redoc` work without internet: every asset they load comes from this server."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

ASSET = re.compile(r"""(?:src|href|url)\s*[=:(]\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_load_nothing_from_elsewhere(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "cdn.jsdelivr.net" not in html
    assert "fonts.googleapis.com" not in html
    assets = ASSET.findall(html)
    assert assets, "the page names its script and styles"
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by this API"
        loaded = client.get(asset)
        assert loaded.status_code == 200, asset
        assert len(loaded.content) > 0


def test_the_swagger_ui_bundle_is_javascript(client: TestClient) -> None:
    bundle = client.get("/docs-assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert len(bundle.content) > 500_000  # the real bundle, not a stub
    assert client.get("/docs/oauth2-redirect").status_code == 200
