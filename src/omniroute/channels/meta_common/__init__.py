"""What WhatsApp Cloud API and Messenger share, both being Meta Graph webhooks and Graph API calls:
the ``hub.challenge`` handshake, the ``X-Hub-Signature-256`` check, the Graph API client and error
classification, and a loopback double of the Graph API for tests and the demo.

Deliberately no ``SPEC`` here: this package is a library, not a channel, so the catalog skips it.
"""
