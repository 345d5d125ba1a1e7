"""External voice (CCaaS) integration: the normalised call model and the vendor adapters.

``model.py`` is the pure call model (events and the call aggregate); ``adapters/`` holds the port
and one package per vendor (Twilio Voice, Amazon Connect, the generic signed JSON). See
docs/VOICE.md and docs/adr/0010-voice-event-model.md.
"""
