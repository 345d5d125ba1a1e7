"""Omniroute: an open-source omnichannel contact centre."""

__version__ = "0.1.0"
