"""mini-swe-agent's DefaultAgent loop, plus messages from teammates.

Everything else is the package's: limits checked before each LLM call, FormatError turns,
submission by the sentinel, the exit message.
"""

from minisweagent.agents.default import DefaultAgent

from coopbench.agents.mini_swe_messaging import Messenger


class CoopbenchLoop(DefaultAgent):
    def __init__(self, model, env, messenger: Messenger | None, **config):
        super().__init__(model, env, **config)
        self.messenger = messenger

    def query(self) -> dict:
        # Upstream injects what arrived at the start of each step. Not when a limit is about
        # to end the loop: those messages would be marked delivered but never read.
        if self.messenger is not None and not self._limits_reached():
            self.add_messages(*self.messenger.take_inbox())
        return super().query()

    def _limits_reached(self) -> bool:
        """The check DefaultAgent.query makes before each call."""
        config = self.config
        return 0 < config.step_limit <= self.n_calls or 0 < config.cost_limit <= self.cost
