"""Attachments: files customers, agents and channels add to conversation messages.

The bytes live in the database (``attachments.content``), so every node serves every file without
shared disk, on SQLite and PostgreSQL alike. ``model`` holds the pure rules (sniffing, names,
limits), ``links`` the signed expiring public links, ``store`` the table, ``service`` the commands.
"""
