"""The user's way out of a failed reconciliation: adopt or flatten what the broker
holds and the ledger does not know.

A bot halts when its ledger and its broker disagree (``Bot.reconcile``: a position or
orders the ledger does not know), showing the difference. Then

- ``adopt``: the broker records its position (and orders) as the bot's own
  (``IBBroker.adopt``: one fill with reason ``"adopted"`` at IB's average cost); the
  bot stores it in its ledger with an ``adopted`` event, reconciles, and trades on;
- ``flatten``: an unknown position is first adopted the same way (so the ledger holds
  the position it closes, and the closing fill's PnL has an entry to count from), then
  the bot's position is closed at the broker as every flattening
  (``Bot.flatten``).

Either way, once the reconciliation passes, a halt that the reconciliation caused is
lifted (``risk_state`` ACTIVE); any other halt (emergency stop, drawdown) stays until
the user resumes the bot. Both run in the bot process (as commands) or, for a bot
whose process is not running, in the caller (``lab.live.control``).
"""

from __future__ import annotations

from lab.live.broker import BrokerError

#: The prefix of ``risk_reason`` of a halt caused by the reconciliation.
RECONCILE_HALT = "reconciliation failed"


def can_adopt(broker) -> bool:
    """True for a broker that can hold what its bots do not know (IB), False (paper)."""
    return callable(getattr(broker, "adopt", None))


def adopt(bot, bar: int, settle: bool = True) -> str:
    """Adopt what the broker holds beyond the bot's ledger; returns what happened.

    Parameters
    ----------
    bot : Bot
        With its ledger and (started) broker.
    bar : int
        The bot's bar counter (the adopted fill's bar).
    settle : bool
        Reconcile afterwards and lift a reconciliation halt (``flatten`` does that
        once, after closing).

    Returns
    -------
    str
        One line: what was adopted and whether the bot reconciles now (else why not).
        A broker that refuses (``BrokerError``) leaves everything as it was; the
        line says why and an ``error`` event records it.
    """
    name, ledger = bot.name, bot.ledger
    if not can_adopt(bot.broker):
        return (f"bot {name}: its broker ({bot.config.broker.get('kind')}) holds nothing the "
                "bot does not know; nothing to adopt")
    bot.reconcile()                                  # sync fills and orders first
    try:
        got = bot.broker.adopt(bar)
    except BrokerError as exc:
        ledger.event(name, "error", f"adopt refused: {exc}")
        return f"bot {name}: nothing adopted: {exc}"
    if not got["qty"] and not got["orders"]:
        what = "nothing to adopt (the broker holds nothing the ledger does not know)"
    else:
        parts = []
        if got["qty"]:
            parts.append(f"position {got['qty']:+g} {bot.config.symbol} at "
                         f"{got['price']:g}")
        if got["orders"]:
            parts.append("orders " + "; ".join(got["orders"]))
        what = "adopted " + " and ".join(parts)
        ledger.event(name, "adopted", what, qty=got["qty"], price=got["price"],
                     fill_id=got["fill_id"], orders=got["orders"])
    return f"bot {name}: {what}" + (f"; {_after(bot)}" if settle else "")


def flatten(bot, bar: int, why: str) -> str:
    """Close the bot's position at its broker, an unknown one included (adopted first);
    returns what happened (see the module docstring)."""
    adopted = ""
    unknown = getattr(bot.broker, "unknown_position", None)
    if callable(unknown) and abs(unknown()) > 1e-9:
        adopted = adopt(bot, bar, settle=False) + "; "
    bot.flatten(bar, why)
    return adopted + f"bot {bot.name}: flattened; " + _after(bot)


def _after(bot) -> str:
    """Reconcile; when it passes, tell the broker and lift a reconciliation halt."""
    why = bot.reconcile()
    if why is not None:
        return f"still HALTED: {why}"
    mark = getattr(bot.broker, "mark_reconciled", None)
    if callable(mark):
        mark()
    if bot.risk.state.value == "HALTED" and bot.risk.reason.startswith(RECONCILE_HALT):
        bot.risk.resume()
        row = bot.ledger.bot(bot.name)
        stale = (row.get("last_error") or "").startswith(RECONCILE_HALT)
        bot.ledger.update_bot(bot.name, risk_state="ACTIVE", risk_reason="",
                              **({"last_error": None} if stale else {}))
        bot.ledger.event(bot.name, "resume", "reconciled after adopt / flatten: the halt "
                         "of the failed reconciliation is lifted")
        return "the ledger matches the broker; the bot trades again"
    return "the ledger matches the broker"
