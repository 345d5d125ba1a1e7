"""The reference CCaaS: a small contact centre that plays an external voice provider.

It has an IVR with a DTMF menu (``ivr.py``), voice queues and agents' call states
(``switchboard.py``), reports every change to Omniroute as signed generic call events
(``reporter.py``), and serves a console and the agent's softphone (``app.py``, ``templates/``,
``static/``). Run it with ``omniroute ccaas-sim``; see docs/VOICE.md ("Reference CCaaS").
"""
