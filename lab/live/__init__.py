"""Paper and live bots: frozen bot config, the Broker protocol, the paper broker, the
risk manager, the SQLite ledger, reconciliation, feeds, and the bot process.

May import only ``lab.core``, ``lab.kernels``, ``lab.costs``, ``lab.data`` and
``lab.metrics`` (and the strategy registry): the replay check and the MLflow record of
a bot session live above, in ``lab.jobs`` / ``lab.ui`` / ``lab.cli``.
"""
