"""Self-service bots: flows, understanding, knowledge answers, hand-off with context."""
