"""Provider limits shared by every worker on every host, per model (litellm's model string).

Ten workers must not each believe they own a model's rate limit. So every litellm call of
an agent (``litellm.completion``, which both upstream's mini_swe_agent_v2 and coopbench's
mini-swe-agent call) first passes a gate kept in Redis (the run's bus Redis):

- **concurrency**: at most ``llm_max_concurrency`` calls at once, a leased semaphore (a
  sorted set of holders with expiry times, Redis's clock) so that a worker killed during a
  call frees its place after ``HOLD_S``. The limit adapts (AIMD): a 429 from the provider
  halves the calls allowed (not below 1), each success adds ``1 / allowed`` (one more per
  round of calls) back up to the setting;
- **requests per minute** (``llm_requests_per_minute``): a moving window (``limits``);
- **tokens per minute** (``llm_tokens_per_minute``): a fixed one-minute window of the tokens
  the responses reported; a call waits while the window is spent.

Time spent waiting at the gate is added up per agent thread (``waiting``) and stored with
each agent run. Agents that call their provider from inside their own container (upstream's
claude_code, codex) do not pass through litellm here, so not through the gate either.
"""

import contextlib
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import redis
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

log = logging.getLogger(__name__)

HOLD_S = 15 * 60  # longest one call may keep its place (litellm's own timeout is 10 minutes)
POLL_S = 0.05
NAMESPACE = "coopbench-llm"

# KEYS: holders (ZSET), allowed (STRING). ARGV: holder, hold s, ceiling. Drop expired holders,
# then take a place if fewer than floor(allowed) are held. The time is the server's.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local allowed = tonumber(redis.call('GET', KEYS[2]) or ARGV[3])
if redis.call('ZCARD', KEYS[1]) < math.max(1, math.floor(allowed)) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0
"""

# KEYS: allowed. ARGV: ceiling, "success" | "throttled". AIMD on the calls allowed at once.
_ADAPT = """
local allowed = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if ARGV[2] == 'throttled' then
  allowed = math.max(1, allowed / 2)
else
  allowed = math.min(tonumber(ARGV[1]), allowed + 1 / allowed)
end
redis.call('SET', KEYS[1], tostring(allowed), 'EX', 86400)
return tostring(allowed)
"""


@dataclass(frozen=True)
class ProviderLimits:
    max_concurrency: int = 0  # 0: no limit, for each of the three
    requests_per_minute: int = 0
    tokens_per_minute: int = 0

    @property
    def any(self) -> bool:
        return bool(self.max_concurrency or self.requests_per_minute or self.tokens_per_minute)


class ProviderGate:
    """The gate of one worker process; its state is all in Redis, shared by every host."""

    def __init__(self, redis_url: str, limits: ProviderLimits):
        self.limits = limits
        self.redis = redis.Redis.from_url(redis_url)
        storage = storage_from_string(redis_url)
        self._requests = MovingWindowRateLimiter(storage)
        self._tokens = FixedWindowRateLimiter(storage)
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._adapt = self.redis.register_script(_ADAPT)

    def call(self, model: str, function: Callable, /, *args, **kwargs):
        """``function(*args, **kwargs)`` once the gate lets this model's call through."""
        holder = uuid.uuid4().hex
        started = time.monotonic()
        self._wait_for_place(model, holder)
        try:
            self._wait_for_rate(model)
            _add_wait(time.monotonic() - started)
            response = function(*args, **kwargs)
        except Exception as error:
            if _throttled(error):
                self._adapt_concurrency(model, "throttled")
            raise
        finally:
            if self.limits.max_concurrency:
                self.redis.zrem(self._key(model, "holders"), holder)
        self._adapt_concurrency(model, "success")
        self._count_tokens(model, response)
        return response

    def allowed(self, model: str) -> float:
        """Calls this model may make at once now (after AIMD)."""
        value = self.redis.get(self._key(model, "allowed"))
        return float(value) if value is not None else float(self.limits.max_concurrency)

    def _wait_for_place(self, model: str, holder: str) -> None:
        if not self.limits.max_concurrency:
            return
        keys = [self._key(model, "holders"), self._key(model, "allowed")]
        while not self._acquire(keys=keys, args=[holder, HOLD_S, self.limits.max_concurrency]):
            time.sleep(POLL_S)

    def _wait_for_rate(self, model: str) -> None:
        per_minute = self.limits.requests_per_minute
        if per_minute:
            item = RateLimitItemPerMinute(per_minute)
            while not self._requests.hit(item, NAMESPACE, "requests", model):
                self._sleep_until(self._requests, item, "requests", model)
        per_minute = self.limits.tokens_per_minute
        if per_minute:
            item = RateLimitItemPerMinute(per_minute)
            while not self._tokens.test(item, NAMESPACE, "tokens", model):
                self._sleep_until(self._tokens, item, "tokens", model)

    @staticmethod
    def _sleep_until(limiter, item, *identifiers: str) -> None:
        reset_at = limiter.get_window_stats(item, NAMESPACE, *identifiers).reset_time
        time.sleep(min(max(reset_at - time.time(), POLL_S), 60))

    def _adapt_concurrency(self, model: str, outcome: str) -> None:
        if self.limits.max_concurrency:
            allowed = self._adapt(keys=[self._key(model, "allowed")],
                                  args=[self.limits.max_concurrency, outcome])
            if outcome == "throttled":
                log.warning("%s: the provider throttled (429); calls at once now %s",
                            model, allowed.decode() if isinstance(allowed, bytes) else allowed)

    def _count_tokens(self, model: str, response) -> None:
        if not self.limits.tokens_per_minute:
            return
        usage = getattr(response, "usage", None)
        tokens = int(getattr(usage, "total_tokens", 0) or 0)
        if tokens:
            self._tokens.hit(RateLimitItemPerMinute(self.limits.tokens_per_minute),
                             NAMESPACE, "tokens", model, cost=tokens)

    @staticmethod
    def _key(model: str, name: str) -> str:
        return f"{NAMESPACE}:{model}:{name}"


def _throttled(error: BaseException) -> bool:
    import litellm

    return isinstance(error, litellm.exceptions.RateLimitError) or getattr(
        error, "status_code", None) == 429


# -- waiting time, per agent thread ---------------------------------------------------------

_thread = threading.local()


@dataclass
class Waited:
    seconds: float = 0.0


def _add_wait(seconds: float) -> None:
    waited = getattr(_thread, "waited", None)
    if waited is not None:
        waited.seconds += seconds


@contextlib.contextmanager
def waiting() -> Iterator[Waited]:
    """The time this thread's calls spend at the gate inside the block."""
    _thread.waited = waited = Waited()
    try:
        yield waited
    finally:
        _thread.waited = None


# -- installing the gate in a worker process ------------------------------------------------

_install_lock = threading.Lock()
_gate: ProviderGate | None = None


def install(redis_url: str, limits: ProviderLimits) -> None:
    """Route this process's ``litellm.completion`` through the gate (once; no limits: no-op)."""
    global _gate
    if not limits.any:
        return
    import litellm

    with _install_lock:
        if _gate is not None:
            return
        _gate = ProviderGate(redis_url, limits)
        original = litellm.completion

        @functools.wraps(original)
        def gated(*args, **kwargs):
            model = kwargs.get("model") or (args[0] if args else "unknown")
            return _gate.call(str(model), original, *args, **kwargs)

        litellm.completion = gated
        log.info("provider limits on every litellm call: %s", limits)
