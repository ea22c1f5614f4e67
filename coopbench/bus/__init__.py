"""The agents' messages on Redis: one bus per job attempt, a channel per agent, the
conversation as it happened (send order, delivery, messages to a finished agent)."""
