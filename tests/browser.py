"""A real headless Chromium (Debian's ``chromium``) driven over the DevTools protocol.

``Browser`` starts one private browser (fresh ``--user-data-dir``, no network services, a
DevTools port on 127.0.0.1 chosen by the browser) and loads pages in its tab:

    with Browser() as browser:
        page = browser.load(Path("report.html"))
        page.errors      # console errors, uncaught exceptions, CSP and load failures
        page.requests    # every URL the page asked for
        page.evaluate("document.querySelectorAll('g.link').length")
        browser.screenshot(Path("chain.png"), selector="section.chain")

It speaks CDP through ``websocket-client`` (a dependency of the kubernetes client).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    browser: Browser | None = None

    def evaluate(self, expression: str) -> Any:
        assert self.browser is not None
        return self.browser.evaluate(expression)


class Browser:
    def __init__(self, *, width: int = 1200, height: int = 900, timeout: float = 60) -> None:
        self.width, self.height, self.timeout = width, height, timeout
        self._proc: subprocess.Popen[str] | None = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._ws: Any = None
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self.log: list[str] = []  # the browser's own stderr

    # ------------------------------------------------------------------ life cycle

    def __enter__(self) -> Browser:
        binary = chromium_path()
        if binary is None:
            raise RuntimeError("chromium is not installed")
        self._profile = tempfile.TemporaryDirectory(prefix="i8s-chromium-")
        args = [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--mute-audio",
            "--hide-scrollbars",
            f"--window-size={self.width},{self.height}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={self._profile.name}",
            "about:blank",
        ]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "HOME": self._profile.name},
            start_new_session=True,  # its helpers (zygote, renderers, crashpad) in one group
        )
        try:
            port = self._devtools_port()
            self._connect(port)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ws is not None:
            try:
                self._ws.close()
            except OSError:
                pass
            self._ws = None
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=15)
            # the helpers may outlive the browser a moment, still writing to the profile
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._proc = None
        if self._profile is not None:
            for attempt in range(50):
                try:
                    self._profile.cleanup()  # again while the directory is there
                    break
                except OSError:  # a helper exiting wrote one last file
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
            self._profile = None

    def _devtools_port(self) -> int:
        assert self._proc is not None and self._proc.stderr is not None
        stderr = self._proc.stderr
        found: list[int] = []
        ready = threading.Event()

        def drain() -> None:
            for line in stderr:
                self.log.append(line.rstrip("\n"))
                match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
                if match and not found:
                    found.append(int(match.group(1)))
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True, name="chromium-stderr").start()
        if not ready.wait(self.timeout) or not found:
            raise RuntimeError("chromium did not open its DevTools port:\n" + "\n".join(self.log))
        return found[0]

    def _connect(self, port: int) -> None:
        import websocket

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        page = next(t for t in targets if t.get("type") == "page")
        self._ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=self.timeout, suppress_origin=True
        )
        for method in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            self.call(method)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )

    # ------------------------------------------------------------------ protocol

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self._events.append(message)
        raise TimeoutError(method)

    def _wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for i, event in enumerate(self._events):
                if event["method"] == method:
                    return self._events.pop(i)
            message = json.loads(self._ws.recv())
            if "method" in message:
                self._events.append(message)
        raise TimeoutError(method)

    def evaluate(self, expression: str) -> Any:
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    # ------------------------------------------------------------------ pages

    def load(self, path: Path, *, settle: float = 0.3) -> PageReport:
        """Open ``path`` and wait for its load event; what it logged and asked for."""
        url = path.resolve().as_uri()
        self._events.clear()
        self.call("Page.navigate", url=url)
        self._wait_event("Page.loadEventFired")
        end = time.monotonic() + settle  # late console messages and requests
        self._ws.settimeout(0.05)
        try:
            while time.monotonic() < end:
                try:
                    message = json.loads(self._ws.recv())
                except Exception:  # the short read timeout: nothing more came
                    continue
                if "method" in message:
                    self._events.append(message)
        finally:
            self._ws.settimeout(self.timeout)
        report = PageReport(url=url, browser=self)
        for event in self._events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                report.errors.append(f"console.{params['type']}: {args}")
            elif method == "Runtime.exceptionThrown":
                report.errors.append(f"exception: {params['exceptionDetails']}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                report.errors.append(f"log: {params['entry'].get('text')}")
            elif method == "Network.requestWillBeSent":
                report.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                report.errors.append(f"load failed: {params.get('errorText')}")
        return report

    def screenshot(self, out: Path, *, selector: str | None = None) -> tuple[int, int]:
        """A PNG of the whole page, or of the first element matching ``selector``;
        returns its size in CSS pixels."""
        if selector is None:
            box = self.evaluate(
                "(() => { const e = document.documentElement;"
                " return [0, 0, e.scrollWidth, e.scrollHeight]; })()"
            )
        else:
            box = self.evaluate(
                f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                ".getBoundingClientRect();"
                " return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })()"
            )
        x, y, width, height = (float(v) for v in box)
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": x, "y": y, "width": width, "height": height, "scale": 1},
        )
        out.write_bytes(base64.b64decode(shot["data"]))
        return int(width), int(height)
