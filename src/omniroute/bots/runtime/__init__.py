"""The dialogue runtime: a pure state machine from a customer turn to bot replies and a new state."""
