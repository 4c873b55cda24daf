"""/docs in a real headless browser (Debian's Chromium), offline: Swagger UI renders from the
server's own assets, Authorize with client credentials gets a token, and "Try it out" answers 200.

Driven over the DevTools protocol (a websocket) with a small client here: no browser download,
no driver. Skipped where /usr/bin/chromium is missing, except in CI (`CI=true`), where that fails.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.server import Server, running_server
from tests.support import World

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs it (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


class Page:
    """One browser tab over the DevTools protocol: commands, and the events seen so far."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        command_id = next(self.ids)
        self.socket.send(json.dumps({"id": command_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == command_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        body = self.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
        raise AssertionError(f"not true within {timeout}s: {expression}\npage: {body}")

    def requested_urls(self) -> list[str]:
        sent = [event for event in self.events if event.get("method") == "Network.requestWillBeSent"]
        return [event["params"]["request"]["url"] for event in sent]


@pytest.fixture
def browser_page() -> Iterator[Page]:
    _require_chromium()
    profile = Path(tempfile.mkdtemp(prefix="samhandling-chromium-"))
    process = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split("\n")[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page_url = next(target["webSocketDebuggerUrl"] for target in targets if target["type"] == "page")
        with connect(page_url, max_size=None, open_timeout=10) as socket:
            page = Page(socket)
            page.send("Network.enable")
            page.send("Page.enable")
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def docs_server(world: World, tmp_path: Path) -> Iterator[Server]:
    settings = world.settings
    with running_server(
        settings.database_url,
        settings.signing_key_file,
        tmp_path / "server.log",
        workers=1,
        SAMHANDLING_SECRETS_KEY_FILE=str(settings.secrets_key_file),
    ) as server:
        yield server


# React owns Swagger UI's inputs: set the value through the native setter and tell React.
_SET_VALUE = """
(selector, value) => {
  const input = document.querySelector(selector);
  if (!input) return false;
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, value);
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new Event('change', {bubbles: true}));
  return true;
}
"""


def _click(page: Page, selector: str) -> None:
    page.wait_for(f"!!document.querySelector({json.dumps(selector)})")
    page.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


def test_swagger_ui_renders_offline_authorizes_and_tries_a_get(
    browser_page: Page, docs_server: Server, world: World
) -> None:
    page = browser_page
    credentials = world.client(world.agency("school"))
    page.send("Page.navigate", url=f"{docs_server.url}/docs")
    page.wait_for("!!document.querySelector('.swagger-ui .info .title')")
    assert "Samhandling" in page.evaluate("document.querySelector('.swagger-ui .info .title').innerText")
    page.wait_for("document.querySelectorAll('.opblock').length > 10")

    _click(page, ".swagger-ui .auth-wrapper .btn.authorize")
    page.wait_for("!!document.querySelector('#client_id_clientCredentials')")
    for selector, value in (
        ("#client_id_clientCredentials", credentials.client_id),
        ("#client_secret_clientCredentials", credentials.client_secret),
    ):
        assert page.evaluate(f"({_SET_VALUE})({json.dumps(selector)}, {json.dumps(value)})")
    page.evaluate(
        "window.oauthBox = document.querySelector('#client_id_clientCredentials').closest('.auth-container');"
        "window.oauthBox.querySelector('.btn.modal-btn.auth.authorize').click()"
    )
    # Authorized, the box shows "Authorized" and a Logout button instead of the inputs.
    page.wait_for("window.oauthBox.innerText.includes('Authorized') && window.oauthBox.innerText.includes('Logout')")
    assert "error" not in page.evaluate("window.oauthBox.innerText").lower()
    _click(page, ".dialog-ux .modal-ux .btn-done, .dialog-ux .modal-ux .close-modal")

    operation = "#operations-events-events-subscriptions"
    _click(page, f"{operation} .opblock-summary-control")  # the button that expands it (Swagger UI 5)
    _click(page, f"{operation} .try-out__btn")
    _click(page, f"{operation} .execute")
    status = page.wait_for(
        f"(document.querySelector('{operation} .live-responses-table .response .response-col_status') || {{}})"
        ".innerText"
    )
    assert status.strip().startswith("200"), status

    requested = page.requested_urls()
    assert any(url.endswith("/oauth/token") for url in requested)  # the token came from Authorize
    elsewhere = [url for url in requested if not url.startswith((docs_server.url, "data:", "blob:"))]
    assert elsewhere == [], "the docs reached beyond the server: they would be blank offline"
