"""Every Celery setting of coopbench, each with the reason for its value.

Jobs are long (minutes to an hour) and costly, and the store, not Celery, decides whether
a job runs (a claim in the database). So Celery is tuned to never drop a message and to
hand out one job at a time; a duplicate delivery is harmless.
"""

from coopbench.config import Settings

PRIORITY_LEVELS = 10  # a job's priority band, 0..9 (scheduler/order.py): 0 is served first

# The broker may redeliver an unacknowledged message after the visibility timeout even while
# its job still runs (celery#5935). Keep it well above the longest job; the claim makes a
# redelivery harmless anyway.
VISIBILITY_MARGIN_S = 3600
# Soft limit first, so the job can stop its containers and record the timeout.
HARD_LIMIT_MARGIN_S = 120


def celery_config(settings: Settings) -> dict:
    visibility_timeout_s = int(settings.visibility_timeout_s
                               or settings.job_timeout_s + VISIBILITY_MARGIN_S)
    transport = {
        "visibility_timeout": visibility_timeout_s,
        # Longest expected job first (scheduler/order.py): a message's priority is its band,
        # kept by kombu in a list per band; a worker serves band 0 first, whichever host
        # published it. One step per band (kombu's default, 4 steps, would merge them).
        "priority_steps": list(range(PRIORITY_LEVELS)),
        "queue_order_strategy": "priority",
    }
    if settings.visibility_timeout_s:
        # kombu scans for overdue messages every 10 x 10 s by default; a short timeout (a
        # redelivery test) needs a scan that often too.
        transport.update(unacked_restore_interval=max(1, visibility_timeout_s // 2),
                         unacked_restore_throttle=1)
    return {
        "broker_url": settings.broker_url,
        # Set on the producer and the consumer alike: the timeout is read from both sides.
        "broker_transport_options": transport,
        # Keep retrying a lost broker, at start-up too: workers outlive Redis restarts.
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # Ack after the job, not before: a worker that dies mid-job leaves it to be redelivered.
        "task_acks_late": True,
        # A child process killed mid-job (OOM, SIGKILL) puts its message back on the queue.
        "task_reject_on_worker_lost": True,
        # One message at a time per process: a long job must not hold others behind it.
        "worker_prefetch_multiplier": 1,
        # Jobs per worker process at once; `celery worker --concurrency` overrides it.
        "worker_concurrency": settings.concurrency,
        # A broker blip must not kill hour-long jobs: they go on and commit to the store; the
        # ack may fail, and a redelivery then finds the job done (the claim).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "task_soft_time_limit": int(settings.job_timeout_s),
        "task_time_limit": int(settings.job_timeout_s + HARD_LIMIT_MARGIN_S),
        # Results live in the SQL store; Celery keeps none.
        "task_ignore_result": True,
        "task_store_errors_even_if_ignored": False,
        "task_default_queue": settings.queue,
        "task_serializer": "json",
        "accept_content": ["json"],
        # Events for Flower: task sent/started/succeeded and worker heartbeats.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_track_started": True,
        # Each job runs agents in threads and containers; recycle processes to bound leaks.
        "worker_max_tasks_per_child": 50,
        # Prefork, with a process that left (above) replaced at once, not up to 5 s later.
        "worker_pool": "workers.prefork:TaskPool",
        "worker_hijack_root_logger": False,
    }
