"""Flows: the YAML documents that say what a bot does (model, entities, templates, loading)."""
