"""Latency benchmark: from a post appearing on a local source to its alert on the monitor's
dashboard and in the monitor's mailbox, p50 and p95 over 200 posts.

The real chain, as deployed: a redis-server, two ``yuqing worker`` processes, ``yuqing scheduler``
and ``yuqing web`` (all default settings), an SMTP sink on 127.0.0.1, and a local social feed
(``yuqing.demo.DemoSite``'s JSON feed) configured as a source polled every ``--poll`` minutes.
Each post is a distinct incident in the bureau's jurisdiction and remit, so each makes its own
event and its own alert (checked with the product's own scorer and grouper before the run).
Posts appear at random moments over ``--spread`` seconds. A monitor logged in to the web polls
the alert queue (``GET /api/alerts``) every 0.5 s; the sink stamps each e-mail as it arrives.

    python bench/bench_latency.py [--posts 200] [--spread 300] [--poll 1]
    python bench/bench_latency.py --posts 30 --spread 60     # a quicker run

Target: p95 under the poll interval + 10 s. Printed: p50/p95 of both, and p95/(poll + 10 s).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import free_port, start_redis  # noqa: E402
from figures import figure  # noqa: E402

MONITOR_EMAIL = "zhiban@yjj.zezhou.example"  # the profile's 值班监测员
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗凤花方"
NAME_CHARS = "东西南北上下前后新旧大小长高平安和庄沟河岭坡峪头湾泉山岗坪营寨堡店铺桥"
# Incidents composed from parts, so that two of them share few salient words (the grouper joins
# reports of one topic in one county when their wording is close): one remit topic each.
PARTS = {
    "fire": (["一处民房", "一家饭店", "一座仓库", "一个加油站旁的商铺", "一栋居民楼", "一家木材加工厂", "一片果园", "一所学校食堂"],
             ["发生一起火灾", "突发大火", "起火", "发生火情", "着火了"],
             ["浓烟滚滚", "火光冲天", "黑烟飘出很远", "明火蔓延很快", "空气里都是焦味"],
             ["消防人员赶到现场扑救", "消防部门出动消防车处置", "消防员正在灭火", "火势已得到控制", "起火原因正在调查"]),
    "traffic_accident": (["一处路段", "高速出口", "国道弯道", "学校门口", "集市路口", "隧道口"],
                         ["发生一起交通事故", "两车相撞", "发生多车追尾事故", "一辆货车侧翻", "一辆客车与货车相撞"],
                         ["道路一度中断", "车辆排起长队", "碎片散落一地", "现场一片狼藉", "车头严重变形"],
                         ["交警赶赴现场处置", "交通事故正在处理", "相关部门已介入", "拖车正在清理现场"]),
    "earthquake_geology": (["一带", "城区", "东部山区", "附近几个村", "周边乡镇"],
                           ["发生地震", "发生3级地震", "发生有感地震", "突然地震"],
                           ["震感明显", "多地震感强烈", "房屋晃动", "不少居民跑到楼下"],
                           ["地震部门正在核实灾情", "余震还在继续", "暂未收到伤亡报告", "地震台网已发布速报"]),
}
TIMES = ["今天凌晨", "今天上午", "今天中午", "今天下午", "今晚", "刚才", "半小时前", "昨夜"]


def make_posts(n: int, spread: float, seed: int = 11) -> list[dict]:
    """Distinct incidents that each make their own event and alert (checked with the product's
    scorer and grouper, in id order, as the workers will group them)."""
    from yuqing.analysis import folding, tokenize
    from yuqing.analysis.events import Grouper, incident_keys
    from yuqing.analysis.scoring import Scorer
    from yuqing.profile import load_profile

    profile = load_profile("zezhou-emergency")
    scorer = Scorer(profile)
    grouper = Grouper()
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    posts: list[dict] = []
    seen_names: set[str] = set()
    attempts = 0
    while len(posts) < n:
        attempts += 1
        if attempts > n * 50:
            raise SystemExit(f"could only make {len(posts)} distinct alert-worthy posts")
        a = rnd.choice(SURNAMES) + rnd.choice(NAME_CHARS)
        b = rnd.choice(NAME_CHARS)
        if a + b in seen_names:
            continue
        marker = f"LT{len(posts):03d}"
        title = f"{a}{b}：{rnd.choice(['网友爆料', '求助', '现场', '急'])}（{marker}）"
        where, what, scene, response = (rnd.choice(part) for part in PARTS[rnd.choice(list(PARTS))])
        text = f"泽州县{a}{b}{where}{rnd.choice(TIMES)}{what}，{scene}，{response}"
        r = scorer.score({"id": 0, "title": title, "text": text})
        if r["relevance"] < profile.alerts.relevance_threshold + 0.05:
            continue
        full = title + "。" + text
        mh = folding.text_minhash(full)
        sig = folding.signature_minhash(folding.signature_tokens(tokenize.lcut(full), r["places"], r["keywords"]))
        keys = incident_keys(r["places"], r["topics"])
        dup, event = grouper.assign(mh, sig, keys, now)
        if dup is not None or event is not None:
            continue
        grouper.add(len(posts) + 1, now, len(posts) + 1, mh, sig, keys, None)
        seen_names.add(a + b)
        posts.append({"id": marker, "title": title, "text": text, "at": rnd.uniform(5, 5 + spread)})
    return posts


class Sink:
    """SMTP on loopback; keeps (arrival time, recipients, subject, text) of every message."""

    def __init__(self) -> None:
        self.got: list[tuple[float, list[str], str, str]] = []
        self.lock = threading.Lock()

    def start(self) -> Sink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                at = time.time()
                msg = message_from_bytes(envelope.content)
                subject = str(make_header(decode_header(msg.get("Subject", ""))))
                body = "\n".join(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8", "replace")
                                 for p in msg.walk() if p.get_content_type() == "text/plain")
                with sink.lock:
                    sink.got.append((at, list(envelope.rcpt_tos), subject, body))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:  # noqa: PLR0915 - one straight run, easier to read in one piece
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--spread", type=float, default=300, help="seconds over which the posts appear")
    parser.add_argument("--poll", type=int, default=1, help="the source's poll interval, minutes")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from yuqing.crawlers.sources import upsert_sources
    from yuqing.dashboards.auth import create_user
    from yuqing.demo import DemoPost, DemoSite
    from yuqing.profile import load_profile
    from yuqing.runtime import Runtime
    from yuqing.settings import load_settings
    from yuqing.store import migrate

    posts = make_posts(args.posts, args.spread)
    poll_s = args.poll * 60
    print(f"{len(posts)} distinct alert-worthy posts over {args.spread:.0f} s; source polled every {poll_s} s",
          flush=True)
    folder = Path(tempfile.mkdtemp(prefix="yuqing-latency-"))
    redis_proc, redis_url = start_redis(folder)
    sink = Sink().start()
    site = DemoSite(start=datetime.now(UTC) + timedelta(days=1))  # nothing visible until we say
    site.posts = []
    site.start()
    web_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_DATA_DIR": str(folder / "data"), "YUQING_REDIS_URL": redis_url,
                "YUQING_SMTP_HOST": "127.0.0.1", "YUQING_SMTP_PORT": str(sink.port),
                "YUQING_SECRET_KEY": "bench-secret-key-for-signing-0123456789", "YUQING_PROFILE": "zezhou-emergency",
                "YUQING_LOG_LEVEL": "WARNING", "YUQING_BASE_URL": f"http://127.0.0.1:{web_port}"})
    settings = load_settings(environ=env)
    migrate(settings.sqlalchemy_url)
    rt = Runtime(settings=settings, profile=load_profile(settings.profile))
    social = next(s for s in site.sources() if s["kind"] == "json_api")
    upsert_sources(rt, [{**social, "interval_minutes": args.poll}])
    create_user(rt, "bench", "bench-password", "monitor", "压测值班", by="bench")
    rt.engine.dispose()

    procs: list[subprocess.Popen[bytes]] = []
    logs = open(folder / "processes.log", "wb")  # noqa: SIM115 - closed at the end
    base = f"http://127.0.0.1:{web_port}"
    try:
        for args_ in ([["worker"]] * args.workers + [["scheduler"], ["web", "--host", "127.0.0.1", "--port",
                                                                        str(web_port)]]):
            procs.append(subprocess.Popen([sys.executable, "-m", "yuqing", *args_], env=env, stdout=logs,
                                          stderr=subprocess.STDOUT))
        client = httpx.Client(base_url=base, timeout=30)
        deadline = time.monotonic() + 90
        while True:
            try:
                page = client.get("/login")
                if page.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the web server did not start")
            time.sleep(0.3)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        r = client.post("/login", data={"username": "bench", "password": "bench-password", "csrf_token": token})
        if r.status_code != 303:
            raise SystemExit(f"monitor login failed: {r.status_code}")
        time.sleep(max(5.0, poll_s / 4))  # workers and scheduler up; the first (empty) polls go by

        start = datetime.now(UTC)
        site.started = start
        site.posts = [DemoPost(id=p["id"], at=p["at"], channel="social", author=f"网友{p['id']}", title=p["title"],
                               text=p["text"]) for p in posts]
        appeared = {p["id"]: start.timestamp() + p["at"] for p in posts}
        on_board: dict[str, float] = {}
        in_mail: dict[str, float] = {}
        last_post = max(appeared.values())
        limit = last_post + 3 * poll_s + 120
        marker = re.compile(r"LT\d{3}")
        print(f"posts appear from now until +{args.spread + 5:.0f} s; watching the dashboard and the mailbox",
              flush=True)
        while time.time() < limit and (len(on_board) < len(posts) or len(in_mail) < len(posts)):
            t = time.time()
            resp = client.get("/api/alerts")
            if resp.status_code != 200:
                raise SystemExit(f"/api/alerts answered {resp.status_code}")
            for alert in resp.json():
                for m in marker.findall(alert["title"]):
                    on_board.setdefault(m, t)
            with sink.lock:
                mails = list(sink.got)
            for at, rcpts, subject, body in mails:
                if MONITOR_EMAIL in rcpts:
                    for m in marker.findall(subject + body):
                        in_mail.setdefault(m, at)
            time.sleep(max(0.0, 0.5 - (time.time() - t)))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.close()
        site.stop()
        sink.stop()
        redis_proc.terminate()
        redis_proc.wait(10)

    board = [on_board[k] - appeared[k] for k in appeared if k in on_board]
    mail = [in_mail[k] - appeared[k] for k in appeared if k in in_mail]
    missing = sorted(set(appeared) - set(on_board)), sorted(set(appeared) - set(in_mail))
    if not board or not mail:
        raise SystemExit(f"no alerts seen (dashboard {len(board)}, mail {len(mail)}); logs in {folder}")
    target = poll_s + 10
    print(f"alerts on the dashboard: {len(board)}/{len(posts)}; e-mails to the monitor: {len(mail)}/{len(posts)}")
    if missing[0] or missing[1]:
        print(f"never seen: dashboard {missing[0][:10]}, mail {missing[1][:10]}")
    bp50, bp95, mp50, mp95 = pct(board, 50), pct(board, 95), pct(mail, 50), pct(mail, 95)
    print(f"post → dashboard: p50 {bp50:5.1f} s  p95 {bp95:5.1f} s  (max {max(board):.1f} s)")
    print(f"post → e-mail:    p50 {mp50:5.1f} s  p95 {mp95:5.1f} s  (max {max(mail):.1f} s)")
    print(f"p95 / (poll {poll_s} s + 10 s): dashboard {bp95 / target:.2f}, e-mail {mp95 / target:.2f}  (target < 1)")
    what = f"{len(posts)} posts over {args.spread:.0f} s, polled every {poll_s} s"
    seen = "" if not (missing[0] or missing[1]) else f"; {len(missing[0])}/{len(missing[1])} never seen"
    figure("latency", f"post → alert on the dashboard, p50 / p95 ({what})",
           f"{bp50:.1f} s / {bp95:.1f} s (p95 = {bp95 / target:.2f}× target{seen})", f"p95 < {target} s")
    figure("latency", f"post → alert e-mail to the monitor, p50 / p95 ({what})",
           f"{mp50:.1f} s / {mp95:.1f} s (p95 = {mp95 / target:.2f}× target{seen})", f"p95 < {target} s")
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
