"""/docs works offline: Swagger UI comes from the app itself."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.app import create_app


def test_docs_page_uses_only_vendored_assets() -> None:
    with TestClient(create_app()) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        urls = re.findall(r"""url: ?['"]([^'"]+)['"]""", page.text)
        assert assets, "the page links Swagger UI's JS and CSS"
        for asset in assets + urls:
            assert asset.startswith("/"), f"{asset} is not served by the app"
            assert client.get(asset).status_code == 200, asset
        assert "/openapi.json" in urls
