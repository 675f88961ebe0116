"""Interactive Brokers through ib_async: the only package that imports ib_async.

``settings`` (where to connect, errors), ``connection`` (connect with backoff, requests
that raise, IB's connectivity codes, health check, status), ``contracts``
(qualification), ``vocabulary`` (IB's terms -> ours), ``pacing`` (historical-data
pacing), ``history`` (the ``ib`` data source), ``realtime`` (5-second bars -> closed
bars of the bot's timeframe), ``broker`` (``IBBroker``).
"""

from lab.live.ib.broker import IBBroker

__all__ = ["IBBroker"]
