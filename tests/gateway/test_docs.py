"""``/docs`` works offline: Swagger UI's script and style come from the gateway itself."""

from __future__ import annotations

import re

from tests.gateway.conftest import Gateway


def test_docs_page_loads_its_assets_from_the_gateway(sgw: Gateway) -> None:
    page = sgw.client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    for url in urls:
        asset = sgw.client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 0, url
    assert "cdn.jsdelivr" not in page.text and "unpkg" not in page.text
    assert sgw.client.get("/redoc").status_code == 404
