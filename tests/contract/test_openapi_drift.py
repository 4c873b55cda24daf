"""The committed spec is the app's spec: regenerate with `samhandling openapi`."""

from __future__ import annotations

from pathlib import Path

from app.cli import OPENAPI_PATH, openapi_document


def test_committed_openapi_matches_the_app() -> None:
    committed = (Path(__file__).resolve().parents[2] / OPENAPI_PATH).read_text(encoding="utf-8")
    assert committed == openapi_document(), "openapi/openapi.json drifted: run `samhandling openapi`"
