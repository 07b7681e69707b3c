"""PDF printing through the process's one headless Chromium (DevTools over its pipe): prints
share one browser, a dead browser is replaced, the browser goes with its process however that
ends, and the errors a user may see are Chinese sentences."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from yuqing.documents import chromium, pdf

PAGE = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>@page { size: A4; margin: 20mm; }'
        'body { font: 16pt "Noto Serif CJK SC"; }</style></head><body><p>{text}</p></body></html>')


def page(text: str) -> str:
    return PAGE.replace("{text}", text)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_gone(pid: int, seconds: float = 30) -> bool:
    end = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < end:
        time.sleep(0.1)
    return not alive(pid)


@pytest.mark.slow  # starts Chromium twice: 10 s on the 2-core machine
def test_prints_share_one_browser_and_a_dead_one_is_replaced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    chromium.shut_down()
    first = pdf.html_to_pdf(page("第一份文件"))
    browser = chromium.browser(pdf.chromium_path())
    done: list[bytes] = []
    threads = [threading.Thread(target=lambda n=n: done.append(pdf.html_to_pdf(page(f"并发第{n}份"))))
               for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert chromium.browser(pdf.chromium_path()).pid == browser.pid, "one browser for every print"
    assert "第一份文件" in pdf_text(first, tmp_path)
    assert sorted(pdf_text(d, tmp_path).strip() for d in done) == ["并发第0份", "并发第1份", "并发第2份"]

    os.killpg(browser.pid, signal.SIGKILL)  # out of memory, say
    assert wait_gone(browser.pid) or browser.returncode is not None
    again = pdf.html_to_pdf(page("浏览器重启之后"))
    assert "浏览器重启之后" in pdf_text(again, tmp_path)
    assert chromium.browser(pdf.chromium_path()).pid != browser.pid


@pytest.mark.slow  # a child process and its Chromium per case: 4-5 s each
@pytest.mark.parametrize("end", ["exit", "os._exit", "SIGKILL"])
def test_the_browser_goes_with_its_process(end: str) -> None:
    """However the process ends (normally, as RQ's work horse does, or killed), its Chromium
    quits, and takes its temporary profile with it: no browser is left behind per job."""
    with tempfile.TemporaryDirectory(prefix="yq-", dir="/tmp") as tmp:  # short: Chromium's
        _goes_with_its_process(Path(tmp), end)  # socket path under TMPDIR must fit 108 bytes


def _goes_with_its_process(tmp_path: Path, end: str) -> None:
    script = textwrap.dedent(f"""
        import os, sys, time, glob
        from yuqing.documents import chromium, pdf
        data = pdf.html_to_pdf({page("进程结束")!r})
        assert data.startswith(b"%PDF")
        b = chromium.browser(pdf.chromium_path())
        print(b.pid, len(glob.glob(os.path.join(os.environ["TMPDIR"], "*hromium*"))), flush=True)
        end = {end!r}
        if end == "os._exit":
            os._exit(0)
        if end == "SIGKILL":
            time.sleep(60)
    """)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    pid, profiles = map(int, proc.stdout.readline().split())
    assert alive(pid) and profiles == 1, "a running browser with its temporary profile"
    if end == "SIGKILL":
        proc.kill()
    proc.wait(timeout=60)
    assert wait_gone(pid), f"chromium {pid} outlived its process ({end})"
    end_time = time.monotonic() + 10
    while any(tmp_path.glob("*hromium*")) and time.monotonic() < end_time:
        time.sleep(0.1)
    assert not list(tmp_path.glob("*hromium*")), "the temporary profile stays behind"


@pytest.mark.slow  # waits out a real 2 s print timeout in Chromium
def test_a_print_that_runs_out_of_time_says_so_and_the_next_one_prints(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers: the load never ends
        stalled = page("慢").replace("</body>", f'<img src="http://127.0.0.1:{silent.getsockname()[1]}/x"></body>')
        with pytest.raises(pdf.PdfError, match=r"^chromium 生成 PDF 超时（2 秒）$"):
            pdf._print(stalled, 2)
    assert "超时之后" in pdf_text(pdf.html_to_pdf(page("超时之后")), tmp_path)


def test_no_free_slot_is_refused_in_chinese(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pdf, "CHROMIUM_WAIT", 0.2)
    held = [pdf._chromiums.acquire(timeout=5) for _ in range(pdf.CHROMIUM_SLOTS)]
    try:
        assert all(held)
        with pytest.raises(pdf.PdfError, match=rf"PDF 生成繁忙（同时最多 {pdf.CHROMIUM_SLOTS} 份），请稍后再试"):
            pdf.html_to_pdf(page("等待"))
    finally:
        for _ in held:
            pdf._chromiums.release()


def test_a_browser_that_cannot_start_names_its_exit(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'error while loading shared libraries: libnss3.so' >&2\nexit 127\n")
    fake.chmod(0o755)
    chromium.shut_down()
    monkeypatch.setattr(pdf, "chromium_path", lambda: str(fake))
    try:
        with pytest.raises(pdf.PdfError, match=r"chromium 未能生成 PDF（退出码 127）：.*libnss3"):
            pdf.html_to_pdf(page("启动失败"))
    finally:
        chromium.shut_down()
