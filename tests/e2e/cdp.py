"""Just enough of the Chrome DevTools Protocol to drive headless Chromium from a test.

One synchronous websocket to the browser endpoint; pages are attached with flatten=True so
every page command travels over that socket with its sessionId. Events are read and
dropped: the tests poll the DOM with Runtime.evaluate instead of following events, which
keeps this client small and survives navigations (a poll during one simply retries).
"""

from __future__ import annotations

import inspect
import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-port=0",
)


class CDPError(RuntimeError):
    """The browser answered a command with an error."""


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started with start_new_session=True and everything it spawned (the
    chromium wrapper script does not exec, and the browser forks renderers)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def launch_chromium(binary: str, user_data_dir: Path, log_path: Path,
                    timeout: float = 30.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start headless Chromium; return the process and its browser websocket URL, read from
    the DevToolsActivePort file it writes once the debugging port is open."""
    port_file = user_data_dir / "DevToolsActivePort"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}: "
                               f"{log_path.read_text(errors='replace')[-2000:]}")
        lines = port_file.read_text().splitlines() if port_file.exists() else []
        if len(lines) >= 2:
            return proc, f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
        time.sleep(0.05)
    stop_process_group(proc)
    raise RuntimeError(f"chromium did not open its debugging port within {timeout}s")


class Browser:
    """The browser-level connection; `new_page()` makes a page in its own browser context
    (separate cookies, like a separate profile)."""

    def __init__(self, ws_url: str) -> None:
        # Chromium's browser endpoint sends large frames (target info, evaluation results).
        # No keepalive pings: the test owns both ends and a quiet poll must not time out
        # (the threading client has them, and the argument, from websockets 15).
        options: dict[str, Any] = {"max_size": None, "open_timeout": 10}
        if "ping_interval" in inspect.signature(connect).parameters:
            options["ping_interval"] = None
        # Entered as a context manager (websockets 17 warns otherwise); close() leaves it.
        self._ws: ClientConnection = connect(ws_url, **options).__enter__()
        self._ids = itertools.count(1)

    def close(self) -> None:
        self._ws.close()

    def send(self, method: str, params: dict[str, Any] | None = None, *,
             session_id: str | None = None, timeout: float = 15.0) -> dict[str, Any]:
        msg_id = next(self._ids)
        frame: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id:
            frame["sessionId"] = session_id
        self._ws.send(json.dumps(frame))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply to {method} within {timeout}s")
            reply = json.loads(self._ws.recv(timeout=remaining))
            if reply.get("id") != msg_id:
                continue  # an event, or a reply to nothing we wait for
            if "error" in reply:
                raise CDPError(f"{method}: {reply['error']}")
            result: dict[str, Any] = reply.get("result", {})
            return result

    def new_page(self) -> Page:
        context = self.send("Target.createBrowserContext", {"disposeOnDetach": True})
        target = self.send("Target.createTarget", {
            "url": "about:blank", "browserContextId": context["browserContextId"]})
        attached = self.send("Target.attachToTarget",
                             {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        page.send("Page.enable")
        page.send("Runtime.enable")
        return page


class Page:
    def __init__(self, browser: Browser, session_id: str) -> None:
        self.browser = browser
        self.session_id = session_id

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session_id=self.session_id)

    def evaluate(self, expression: str) -> Any:
        """The expression's value (JSON-able), raising on a JavaScript exception."""
        result = self.send("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise CDPError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})

    def wait_for(self, expression: str, *, timeout: float = 10.0,
                 what: str | None = None) -> Any:
        """Poll until the expression is truthy; evaluation errors (a navigation in flight
        destroying the context) count as "not yet"."""
        return wait_until(lambda: self._try_evaluate(expression), timeout=timeout,
                          what=what or expression)

    def _try_evaluate(self, expression: str) -> Any:
        try:
            return self.evaluate(expression)
        except CDPError:
            return None

    def insert_text(self, text: str) -> None:
        """Types into the focused element as an IME commit would (fires input events)."""
        self.send("Input.insertText", {"text": text})


def wait_until(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.1)
