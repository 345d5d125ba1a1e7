"""Amazon Connect adapter: contact events from EventBridge (via an API destination)."""

from __future__ import annotations

from omniroute.voice.adapters.amazon_connect.adapter import KIND, AmazonConnectAdapter

__all__ = ["KIND", "AmazonConnectAdapter"]
