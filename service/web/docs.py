"""Local assets of the API documentation pages (no CDN).

Swagger UI (``/api/v1/docs``) loads its scripts and styles from the ``swagger-ui-bundle`` package;
ReDoc (``/api/v1/redoc``) from the copy in ``service/static/redoc``. The pages reference these
assets by relative URLs, so the documentation also works behind a path prefix.
"""

from __future__ import annotations

import functools
from pathlib import Path

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

REDOC_DIR = Path(__file__).resolve().parents[1] / "static" / "redoc"
ASSETS_PREFIX = "/api/v1/static"

FLASK_SMOREST_CONFIG = {
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "static/swagger-ui/",
    # No validator badge: it would send the document to validator.swagger.io.
    "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None, "deepLinking": True},
    "OPENAPI_REDOC_PATH": "redoc",
    "OPENAPI_REDOC_URL": "static/redoc/redoc.standalone.js",
}


REDOC_SCRIPT = "redoc.standalone.js"
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
"""The one address on another host in ReDoc's bundle: its sidebar's logo, served from here."""
_CACHED = {"Cache-Control": "public, max-age=86400"}


@functools.cache
def _redoc_script() -> bytes:
    """ReDoc's bundle with its logo read from this server instead of a CDN."""
    script = (REDOC_DIR / REDOC_SCRIPT).read_bytes()
    return script.replace(REDOC_CDN_LOGO.encode(), f"{ASSETS_PREFIX}/redoc/logo-mini.svg".encode())


def docs_assets_blueprint() -> Blueprint:
    """Routes for the documentation assets (public, not part of the OpenAPI document)."""
    blueprint = Blueprint("docs_assets", __name__, url_prefix=ASSETS_PREFIX)

    @blueprint.get("/swagger-ui/<path:filename>")
    def swagger_ui(filename: str) -> Response:
        return send_from_directory(str(swagger_ui_path), filename, max_age=86400)

    @blueprint.get("/redoc/<path:filename>")
    def redoc(filename: str) -> Response:
        if filename == REDOC_SCRIPT:
            return Response(_redoc_script(), mimetype="text/javascript", headers=_CACHED)
        return send_from_directory(REDOC_DIR, filename, max_age=86400)

    return blueprint
