"""The knowledge base: Markdown articles written by supervisors, searched by agents and bots."""
