"""One headless Chromium per process, driven over its DevTools pipe (``--remote-debugging-pipe``).

Starting Chromium costs seconds and the 版记 takes two or three prints per document, so the
browser stays up between prints: started on the first print, shared by every thread (a print at a
time per tab, tabs kept for the next print), started again when it has died, and closed when the
process exits.

The pipe (the browser reads commands on fd 3 and writes replies on fd 4, NUL-separated JSON)
needs no port, so no other local user can reach the browser, and no websocket library; and
Chromium shuts down when the pipe closes, so it goes with this process even when that ends by
``os._exit`` (RQ's work horse) or SIGKILL, taking its temporary profile with it (headless Chromium
without ``--user-data-dir`` makes one in /tmp and removes it at shutdown).
"""

from __future__ import annotations

import atexit
import base64
import fcntl
import itertools
import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-pipe"]
# What ``--print-to-pdf --no-pdf-header-footer`` asks for: the page's CSS @page size and margins.
PRINT = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False}
CLOSE_WAIT = 5.0  # seconds for a tab to close, or for the browser to quit, before it is killed


class ChromiumGone(Exception):
    """The browser exited (or its pipe broke); ``returncode`` and ``stderr`` say how."""

    def __init__(self, returncode: int | None, stderr: str) -> None:
        super().__init__(f"chromium exited ({returncode})")
        self.returncode, self.stderr = returncode, stderr


class ChromiumTimeout(Exception):
    """No reply before the deadline."""


class ChromiumRefused(Exception):
    """The browser answered with a DevTools error (or a navigation error)."""


class _Reply:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.message: dict[str, Any] = {}


class Chromium:
    """A running headless Chromium and the DevTools pipe to it."""

    def __init__(self, path: str) -> None:
        self._ids = itertools.count(1)
        self._replies: dict[int, _Reply] = {}
        self._events: dict[str, list[dict[str, Any]]] = {}  # a tab's session → its events since its last navigation
        self._idle: list[tuple[str, str]] = []  # tabs (target, session) no print is using
        self._lock = threading.Lock()  # the three above and _gone
        self._arrived = threading.Condition(self._lock)
        self._writing = threading.Lock()  # the command pipe
        self._gone = False
        self._stderr = tempfile.TemporaryFile()  # its log, quoted when it dies
        self.pid, self._commands, self._answers = _spawn(path, self._stderr.fileno())
        self.returncode: int | None = None
        self.owner = os.getpid()
        threading.Thread(target=self._read, name=f"chromium-{self.pid}", daemon=True).start()

    # ---- the pipe ------------------------------------------------------------------------

    def _read(self) -> None:
        # The answer end belongs to this thread: closed here, never under a blocked read.
        buffer = b""
        try:
            while chunk := os.read(self._answers, 1 << 20):
                *messages, buffer = (buffer + chunk).split(b"\0")
                for raw in messages:
                    self._dispatch(json.loads(raw))
        except (OSError, ValueError):
            pass
        finally:
            answers, self._answers = self._answers, -1
            os.close(answers)
            self._wake_all()

    def _dispatch(self, message: dict[str, Any]) -> None:
        with self._lock:
            if "id" in message:
                reply = self._replies.pop(message["id"], None)
                if reply is not None:
                    reply.message = message
                    reply.done.set()
            elif message.get("sessionId") in self._events:
                self._events[message["sessionId"]].append(message)
                self._arrived.notify_all()

    def _wake_all(self) -> None:
        with self._lock:
            self._gone = True
            for reply in self._replies.values():
                reply.done.set()
            self._replies.clear()
            self._arrived.notify_all()

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str = "",
             deadline: float) -> dict[str, Any]:
        """Send one DevTools command and wait for its result until ``deadline`` (monotonic)."""
        reply = _Reply()
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        with self._lock:
            if self._gone:
                raise self._death()
            self._replies[message["id"]] = reply
        with self._writing:
            try:
                if self._commands < 0:
                    raise OSError("closed")
                _write_all(self._commands, json.dumps(message).encode() + b"\0")
            except OSError:
                self._gone = True
                raise self._death() from None
        if not reply.done.wait(max(0.0, deadline - time.monotonic())):
            with self._lock:
                self._replies.pop(message["id"], None)
            raise ChromiumTimeout(method)
        if not reply.message:
            raise self._death()
        if "error" in reply.message:
            raise ChromiumRefused(reply.message["error"].get("message", str(reply.message["error"])))
        result: dict[str, Any] = reply.message.get("result", {})
        return result

    def wait_event(self, session: str, wanted: Callable[[dict[str, Any]], bool], deadline: float) -> None:
        """Wait until an event of ``session`` (watched since its attach) matches ``wanted``."""
        with self._arrived:
            while not any(wanted(event) for event in self._events.get(session, [])):
                if self._gone:
                    raise self._death()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ChromiumTimeout("load")
                self._arrived.wait(left)

    # ---- printing ------------------------------------------------------------------------

    def print_pdf(self, url: str, timeout: float) -> bytes:
        """Load ``url`` in an idle tab (a new one if none is idle), wait for its load (fonts too)
        and print it as PDF. A tab is reused: its renderer keeps fonts loaded, a second faster."""
        deadline = time.monotonic() + timeout
        tab = self._idle_tab(deadline)
        try:
            data = self._print_in(tab, url, deadline)
        except BaseException:
            self._close_tab_or_kill(tab)  # whatever went wrong in that tab goes with it
            raise
        with self._lock:
            self._idle.append(tab)
        return base64.b64decode(data)

    def _idle_tab(self, deadline: float) -> tuple[str, str]:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        target = self.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
        session = ""
        try:
            session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                deadline=deadline)["sessionId"]
            with self._lock:
                self._events[session] = []
            self.call("Page.enable", session=session, deadline=deadline)
            self.call("Page.setLifecycleEventsEnabled", {"enabled": True}, session=session, deadline=deadline)
        except BaseException:
            self._close_tab_or_kill((target, session))
            raise
        return target, session

    def _print_in(self, tab: tuple[str, str], url: str, deadline: float) -> str:
        _, session = tab
        with self._lock:
            self._events[session] = []
        loader = self.call("Page.navigate", {"url": url}, session=session, deadline=deadline)
        if loader.get("errorText"):
            raise ChromiumRefused(f"{url}: {loader['errorText']}")
        # The load of this navigation, not an earlier page's (whose events may still be arriving).
        self.wait_event(session, lambda e: e.get("method") == "Page.lifecycleEvent"
                        and e["params"].get("name") == "load"
                        and e["params"].get("loaderId") == loader.get("loaderId"), deadline)
        self.call("Runtime.evaluate", {"expression": "document.fonts.ready.then(() => true)",
                                       "awaitPromise": True}, session=session, deadline=deadline)
        data: str = self.call("Page.printToPDF", PRINT, session=session, deadline=deadline).get("data", "")
        return data

    def _close_tab_or_kill(self, tab: tuple[str, str]) -> None:
        # A browser that cannot even close a tab is stuck: the next print starts a new one.
        target, session = tab
        with self._lock:
            self._events.pop(session, None)
        try:
            self.call("Target.closeTarget", {"targetId": target}, deadline=time.monotonic() + CLOSE_WAIT)
        except ChromiumTimeout:
            self.kill()
        except (ChromiumGone, ChromiumRefused):
            pass

    # ---- its life ------------------------------------------------------------------------

    def alive(self) -> bool:
        return not self._gone and self._exit_status(block=False) is None

    def _exit_status(self, block: bool) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:  # not ours to wait for (SIGCHLD ignored): ask the kernel
                try:
                    os.kill(self.pid, 0)
                    return None
                except ProcessLookupError:
                    self.returncode = -1
                    return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def _death(self) -> ChromiumGone:
        returncode = self._exit_status(block=False)
        if returncode is None:  # the pipe broke first: give the exit a moment to be seen
            time.sleep(0.2)
            returncode = self._exit_status(block=False)
        try:
            self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, self._stderr.tell() - 2000))
            stderr = self._stderr.read().decode("utf-8", "replace")
        except ValueError:  # closed meanwhile
            stderr = ""
        return ChromiumGone(returncode, stderr)

    def _close_commands(self) -> None:
        with self._writing:
            if self._commands >= 0:
                os.close(self._commands)
                self._commands = -1

    def close(self) -> None:
        """Quit the browser (closing the pipe asks it to); kill it if it lingers."""
        self._close_commands()
        end = time.monotonic() + CLOSE_WAIT
        while self._exit_status(block=False) is None and time.monotonic() < end:
            time.sleep(0.05)
        if self._exit_status(block=False) is None:
            self.kill()
        self._stderr.close()

    def kill(self) -> None:
        self._gone = True
        try:
            os.killpg(self.pid, signal.SIGKILL)  # it leads its own process group: its helpers go too
        except ProcessLookupError:
            pass
        self._exit_status(block=True)

    def forget(self) -> None:
        """In a forked child (where no reader thread runs): drop the parent's pipe ends, so the
        parent's browser still quits when the parent does."""
        for fd in (self._commands, self._answers):
            if fd >= 0:
                os.close(fd)


def _spawn(path: str, stderr: int) -> tuple[int, int, int]:
    """Start Chromium with its DevTools pipe on fds 3 and 4; (pid, our command end, our answer end)."""
    their_commands, commands = os.pipe()
    answers, their_answers = os.pipe()
    # Out of the way of 3 and 4 before they are moved there (dup2 onto an fd still needed).
    low = (their_commands, their_answers)
    their_commands, their_answers = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in low)
    for fd in low:
        os.close(fd)
    try:
        # posix_spawn, not subprocess: only it can place the pipe on fds 3 and 4 without running
        # Python in the child (preexec_fn is unsafe in a threaded process).
        pid = os.posix_spawn(path, [path, *ARGS, "about:blank"], os.environ, setsid=True, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, stderr, 2),
            (os.POSIX_SPAWN_DUP2, their_commands, 3),
            (os.POSIX_SPAWN_DUP2, their_answers, 4)])
    except OSError:
        for fd in (commands, answers):
            os.close(fd)
        raise
    finally:
        for fd in (their_commands, their_answers):
            os.close(fd)
    return pid, commands, answers


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# ---- the process's one browser ---------------------------------------------------------------

_browser: Chromium | None = None
_starting = threading.Lock()


def browser(path: str) -> Chromium:
    """This process's Chromium, started if there is none or it has died."""
    global _browser
    with _starting:
        if _browser is not None and (_browser.owner != os.getpid() or not _browser.alive()):
            if _browser.owner == os.getpid():
                _browser.close()
            _browser = None
        if _browser is None:
            _browser = Chromium(path)
        return _browser


def shut_down() -> None:
    """Close this process's Chromium, if it started one (at exit, and for tests)."""
    global _browser
    with _starting:
        if _browser is not None and _browser.owner == os.getpid():
            _browser.close()
        _browser = None


def _after_fork_in_child() -> None:
    global _browser, _starting
    _starting = threading.Lock()  # another thread may have held it at the fork
    if _browser is not None:
        _browser.forget()
        _browser = None


atexit.register(shut_down)
os.register_at_fork(after_in_child=_after_fork_in_child)
