"""The agent's desk: quick replies and disposition codes (docs/WORKSPACE.md)."""
