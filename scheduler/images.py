"""Asking the live workers about task images: prefetch them (``coopbench images pull``) and
list where they are (``coopbench images list``), through Celery's broadcast."""

import time
from dataclasses import dataclass, field

import redis
from sqlalchemy import select

from coopbench.config import Settings
from coopbench.dataset.images.names import image_name
from coopbench.errors import BrokerUnavailable, ConfigError
from coopbench.ops.prefetch import new_request_id, read_reports
from coopbench.store import Job, Store
from workers.celery_app import make_app

REPLY_TIMEOUT_S = 5.0  # how long live workers have to answer a broadcast
POLL_S = 1.0


def run_images(store: Store, run_name: str) -> list[str]:
    """The image names a run's jobs ask for."""
    with store.session() as session:
        run = store.require_run(session, run_name)
        tasks = session.execute(select(Job.repo, Job.task_id).where(Job.run_name == run_name)
                                .distinct()).all()
    return sorted({image_name(run.image_template, repo, task_id) for repo, task_id in tasks})


@dataclass
class PrefetchOutcome:
    reports: dict[str, dict[str, dict]]  # host -> image -> {status, size_bytes, digest | error}
    shared: dict[str, str] = field(default_factory=dict)  # host -> the worker that pulled for it
    unfinished: list[str] = field(default_factory=list)  # hosts still pulling at the deadline
    errors: dict[str, str] = field(default_factory=dict)  # host -> why it could not take part

    @property
    def ok(self) -> bool:
        return not (self.unfinished or self.errors) and all(
            report["status"] != "failed" for images in self.reports.values()
            for report in images.values())


def prefetch(settings: Settings, images: list[str], run: str | None, parallel: int,
             timeout_s: float) -> PrefetchOutcome:
    """Make every live worker host pull ``images``; wait for their reports (or the deadline)."""
    request_id = new_request_id()
    replies = _broadcast(settings, "coopbench_prefetch", {
        "request_id": request_id, "images": images, "run": run, "parallel": parallel})
    outcome = PrefetchOutcome({})
    takers = set()
    for reply in replies:
        host = reply.get("host", "?")
        if "error" in reply:
            outcome.errors[host] = reply["error"]
        elif reply.get("taken"):
            takers.add(host)
        else:
            outcome.shared.setdefault(host, reply.get("covered_by", "?"))
    client = redis.Redis.from_url(settings.resolved_bus_url)
    deadline = time.monotonic() + timeout_s
    while True:
        outcome.reports, done = read_reports(client, request_id)
        if takers <= done or time.monotonic() > deadline:
            break
        time.sleep(POLL_S)
    outcome.unfinished = sorted(takers - done)
    for host in takers:  # an engine shared by hosts: the host that pulled reports for both
        outcome.shared.pop(host, None)
    return outcome


def inventory(settings: Settings, images: list[str]) -> dict[str, dict]:
    """host -> {engine, images: name -> {id, digest, size_bytes} | None} (or {error})."""
    return {reply.get("host", "?"): reply
            for reply in _broadcast(settings, "coopbench_images", {"images": images})}


def _broadcast(settings: Settings, command: str, arguments: dict) -> list[dict]:
    app = make_app(settings)
    try:
        replies = app.control.broadcast(command, arguments=arguments, reply=True,
                                        timeout=REPLY_TIMEOUT_S)
    except Exception as error:
        raise BrokerUnavailable(f"cannot reach the broker to ask the workers: {error}") from None
    if not replies:
        broker = settings.broker_url.split("@")[-1]  # no password
        raise ConfigError("no live worker answered; start workers (celery -A workers worker) "
                          f"on the hosts, with the same broker ({broker})")
    return [reply for answer in replies for reply in answer.values()]
