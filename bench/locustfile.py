"""Locust users for bench_web_load.py: what the dashboard's people actually do, with their pauses.

The session cookies come from the benchmark (it signs in once per role), so the login rate
limit is not what gets measured. ``LOGIN_ONLY=1`` turns every user into an anonymous visitor of
the login page: the baseline run, a template with no queries, under the same load.
"""

from __future__ import annotations

import os
import random

from locust import FastHttpUser, between, task

EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
LOGIN_ONLY = os.environ.get("LOGIN_ONLY") == "1"


class Monitor(FastHttpUser):
    """舆情监测员: the console polls its fingerprint every 15 s; the monitor opens events and tickets."""

    weight = 4
    wait_time = between(1, 4)

    def on_start(self) -> None:
        self.headers = {} if LOGIN_ONLY else {"Cookie": os.environ["MONITOR_COOKIE"]}

    def _get(self, path: str, name: str) -> None:
        if LOGIN_ONLY:
            path, name = "/login", "login page (baseline)"
        self.client.get(path, headers=self.headers, name=name)

    @task(4)
    def poll(self) -> None:
        self._get("/api/alerts/version", "poll /api/alerts/version")

    @task(3)
    def console(self) -> None:
        self._get("/", "alert queue /")

    @task(2)
    def event(self) -> None:
        path = f"/events/{random.randint(1, EVENTS)}"
        self._get(path, "event page /events/{id}")

    @task(1)
    def tickets(self) -> None:
        self._get("/tickets", "ticket board /tickets")

    @task(1)
    def search(self) -> None:
        word = random.choice(["透水", "暴雨", "火灾", "泽州", "救援"])
        self._get(f"/search?q={word}", "search /search")


class Leader(FastHttpUser):
    """领导: opens the leadership board now and then."""

    weight = 1
    wait_time = between(3, 10)

    def on_start(self) -> None:
        self.headers = {} if LOGIN_ONLY else {"Cookie": os.environ["LEADER_COOKIE"]}

    @task
    def board(self) -> None:
        if LOGIN_ONLY:
            self.client.get("/login", name="login page (baseline)")
        else:
            self.client.get("/leader", headers=self.headers, name="leadership /leader")
