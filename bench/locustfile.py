"""Locust users of the load test (run by bench/load.py; needs only locust, not the project).

The spec (JSON, path in LIUYAN_LOAD_SPEC) gives the wall callback's request shape,
the screens' kiosk config, the write token and the rates:

* WallScreen: one wall display. Loads the page once, then every `interval` seconds sends
  the refresh callback (`/_dash-update-component`) exactly as the browser does, keeping
  the state the server returns (so ticks without new data answer 204); its map metric
  rotates every `rotate` seconds from a random phase.
* Analyst: every few seconds changes its filters (period, provinces, domain, type,
  urgency) and fetches what the analyst page shows for them from the JSON API.
* Writer: posts new messages and first replies to earlier ones through the write API,
  one batch every `write_every` seconds (a realistic, somewhat brisk national rhythm).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from urllib.parse import urlencode

from locust import FastHttpUser, between, constant_pacing, task

SPEC = json.loads(open(os.environ["LIUYAN_LOAD_SPEC"], encoding="utf-8").read())
BEIJING = dt.timezone(dt.timedelta(hours=8))
PROVINCES = ["河南", "四川", "陕西", "安徽", "北京", "广东", "山东", "湖北", "浙江", "江苏"]
CATEGORIES = ["城建", "交通", "教育", "医疗", "环保", "三农", "治安"]
TYPES = ["投诉/求助", "咨询", "建言"]
PERIODS = ["today", "week", "month", "quarter", "ytd", "last30", "year"]


class WallScreen(FastHttpUser):
    fixed_count = SPEC["screens"]
    wait_time = constant_pacing(SPEC["interval"])

    def on_start(self):
        self.state = None
        self.ticks = 0
        self.phase = random.uniform(0, SPEC["rotate"] or 1)
        self.began = time.monotonic()
        time.sleep(random.uniform(0, SPEC["interval"]))  # screens are not in step
        self.client.get(f"/?period={SPEC['period']}", name="wall page")

    @task
    def tick(self):
        self.ticks += 1
        rotations = int((time.monotonic() - self.began + self.phase) // SPEC["rotate"]) if SPEC["rotate"] else 0
        body = {
            "output": SPEC["output"],
            "outputs": SPEC["outputs"],
            "inputs": [
                {"id": SPEC["tick_id"], "property": "n_intervals", "value": self.ticks},
                {"id": SPEC["rotate_id"], "property": "n_intervals", "value": rotations},
                {"id": SPEC["carousel_id"], "property": "n_intervals", "value": 0},
            ],
            "changedPropIds": [f"{SPEC['tick_id']}.n_intervals"],
            "state": [
                {"id": SPEC["config_id"], "property": "data", "value": SPEC["config"]},
                {"id": SPEC["state_id"], "property": "data", "value": self.state},
            ],
        }
        with self.client.post("/_dash-update-component", json=body, name="wall tick", catch_response=True) as r:
            if r.status_code == 204:
                r.success()
            elif r.status_code == 200:
                try:
                    self.state = r.json()["response"][SPEC["state_id"]]["data"]
                    r.success()
                except (ValueError, KeyError) as exc:
                    r.failure(f"bad callback response: {exc}")
            else:
                r.failure(f"status {r.status_code}")


class Analyst(FastHttpUser):
    fixed_count = SPEC["analysts"]
    wait_time = between(*SPEC["analyst_think"])

    @task
    def change_filters(self):
        params = [("period", random.choice(PERIODS))]
        for _ in range(random.choice([0, 0, 1, 2])):
            params.append(("province", random.choice(PROVINCES)))
        if random.random() < 0.4:
            params.append(("category", random.choice(CATEGORIES)))
        if random.random() < 0.2:
            params.append(("msg_type", random.choice(TYPES)))
        if random.random() < 0.1:
            params.append(("urgent", "true"))
        for endpoint, extra in (
            ("summary", []),
            ("provinces", []),
            ("trend", [("granularity", "day")]),
            ("categories", []),
            ("types", []),
            ("feed", [("limit", "20")]),
        ):
            self.client.get(f"/api/v1/{endpoint}?{urlencode(params + extra)}", name=f"analyst /api/v1/{endpoint}")


class Writer(FastHttpUser):
    fixed_count = SPEC["writers"]
    wait_time = constant_pacing(SPEC["write_every"])

    def on_start(self):
        self.n = 0
        self.unanswered: list[tuple[str, str]] = []
        self.headers = {"Authorization": f"Bearer {SPEC['token']}"}

    @task
    def write(self):
        now = dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)
        rows = []
        for _ in range(SPEC["batch"]):
            self.n += 1
            message_id = f"load-{SPEC['run']}-{self.n}"
            created = (now - dt.timedelta(seconds=random.randint(1, 30))).isoformat(sep=" ")
            rows.append(
                {
                    "message_id": message_id,
                    "created_at": created,
                    "province": random.choice(PROVINCES),
                    "city": "某市",
                    "category": random.choice(CATEGORIES),
                    "msg_type": random.choice(TYPES),
                    "title": "关于小区路灯维修的建议",
                    "is_urgent": random.random() < 0.05,
                }
            )
            self.unanswered.append((message_id, created))
        self.client.post("/api/v1/ingest/messages", json=rows, headers=self.headers, name="write messages")
        if len(self.unanswered) > 4 * SPEC["batch"]:
            answer, self.unanswered = self.unanswered[: SPEC["batch"]], self.unanswered[SPEC["batch"] :]
            replies = [
                {"reply_id": f"{m}-r", "message_id": m, "replied_at": now.isoformat(sep=" "), "unit": "某市住建局"}
                for m, _ in answer
            ]
            self.client.post("/api/v1/ingest/replies", json=replies, headers=self.headers, name="write replies")
