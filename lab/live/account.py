"""The account behind a ledger's bots: the sums the account-wide risk limits check, and
the account's risk state.

Every bot of a ledger (``paper.sqlite`` or ``live.sqlite``) trades its own sub-account;
the account is their sum. Its risk state follows the per-bot rules of
``lab.live.risk``:

* ACTIVE: orders pass when they break no account limit;
* REDUCING: the account's loss since the first equity of the UTC day reached
  ``max_daily_loss``: only orders that shrink a position pass, until the next UTC day
  (computed from the equity rows at each check, nothing is stored);
* HALTED: the account's equity fell ``max_drawdown`` below its peak: nothing passes but
  exits that flatten, until a person resumes the account (``resume``). The peak and
  the HALTED state are stored in the ledger's ``account`` table (key ``risk_state``),
  because the peak of a sum over bots cannot be rebuilt from their equity rows (bots
  replay different periods); each bot updates them after each bar while an account
  drawdown limit is set (``mark``).

Account equity is the sum of each bot's latest equity (bots that stopped keep their
sub-account). Functions take an open ``Ledger`` and join its transaction when called
inside one.
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.live.ledger import Ledger
from lab.live.risk import AccountView

_KEY = "risk_state"


def view(ledger: Ledger, exclude: str, symbol: str, since: float) -> AccountView:
    """The account as bot ``exclude`` sees it before sending an order in ``symbol``.

    Parameters
    ----------
    ledger : Ledger
    exclude : str
        The bot asking: its own position is in the order check, not here.
    symbol : str
        The order's symbol: ``other_units`` is the other bots' net position in it.
    since : float
        Epoch seconds: orders created after it count as the last minute's.

    Returns
    -------
    AccountView
        Gross notional and net units (in ``symbol``) of the other bots (|qty| x latest
        close x multiplier, account currency; signed units), equity of all bots, orders
        since ``since``, the day's loss and the drawdown below the stored peak
        (fractions, None without data), and the stored state and reason.
    """
    other, units, equity, first = 0.0, 0.0, 0.0, 0.0
    con = ledger.con
    for bot in ledger.bots():
        name = bot["name"]
        mult = float(bot["config"]["execution"].get("multiplier", 1.0))
        last = con.execute("SELECT time, close, position, equity FROM equity WHERE bot = ? "
                           "ORDER BY bar DESC LIMIT 1", (name,)).fetchone()
        if last is None:
            continue
        equity += last["equity"]
        if name != exclude:
            other += abs(last["position"]) * last["close"] * mult
            if bot["config"]["symbol"] == symbol:
                units += last["position"]
        day = last["time"][:10]
        row = con.execute("SELECT equity FROM equity WHERE bot = ? AND time >= ? ORDER BY "
                          "bar LIMIT 1", (name, day)).fetchone()
        first += row[0] if row else last["equity"]
    n = con.execute("SELECT COUNT(*) FROM orders WHERE created_at > ?", (since,)).fetchone()[0]
    st = state(ledger)
    peak = st["peak_equity"]
    drawdown = 1.0 - equity / peak if peak is not None and peak > 0 else None
    return AccountView(other_notional=other, other_units=units, equity=equity,
                       orders_last_minute=int(n),
                       day_loss=(1.0 - equity / first) if first > 0 else None,
                       drawdown=drawdown, state=st["state"], reason=st["reason"])


def state(ledger: Ledger) -> dict:
    """The stored account risk state: ``state`` ("ACTIVE" or "HALTED"), ``reason``,
    ``peak_equity`` (account currency, None before the first mark)."""
    row = ledger.con.execute("SELECT value FROM account WHERE key = ?", (_KEY,)).fetchone()
    out = {"state": "ACTIVE", "reason": "", "peak_equity": None}
    if row is not None:
        out.update(json.loads(row[0]))
    return out


def _store(ledger: Ledger, value: dict) -> None:
    with ledger.transaction() as con:
        con.execute("INSERT INTO account VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                    "value = excluded.value", (_KEY, json.dumps(value, sort_keys=True)))


def equity(ledger: Ledger) -> float | None:
    """Sum of every bot's latest equity (account currency); None before any bar."""
    total, seen = 0.0, False
    for (name,) in ledger.con.execute("SELECT name FROM bots").fetchall():
        row = ledger.con.execute("SELECT equity FROM equity WHERE bot = ? ORDER BY bar DESC "
                                 "LIMIT 1", (name,)).fetchone()      # the (bot, bar) key
        if row is not None:
            total, seen = total + row[0], True
    return total if seen else None


def mark(ledger: Ledger, max_drawdown: float | None) -> dict | None:
    """After a bot's bar: raise the account's equity peak, and go HALTED when the
    account's drawdown reaches ``max_drawdown`` (fraction).

    Returns
    -------
    dict or None
        ``{"rule", "message", "drawdown", "limit", "equity", "peak_equity"}`` when this
        mark halted the account (for the bot's event), else None.
    """
    eq = equity(ledger)
    if eq is None:
        return None
    st = state(ledger)
    peak = st["peak_equity"]
    changed = False
    if peak is None or eq > peak:
        st["peak_equity"], peak, changed = eq, eq, True
    halt = None
    if st["state"] != "HALTED" and max_drawdown is not None and peak > 0:
        dd = 1.0 - eq / peak
        if dd >= max_drawdown:
            msg = (f"account drawdown {dd:.4f} (equity {eq:.2f}, peak {peak:.2f}) reached "
                   f"account.max_drawdown {max_drawdown}")
            st["state"], st["reason"], changed = "HALTED", msg, True
            halt = {"rule": "account.max_drawdown", "message": msg, "drawdown": dd,
                    "limit": max_drawdown, "equity": eq, "peak_equity": peak}
    if changed:
        _store(ledger, st)
    return halt


def resume(ledger: Ledger) -> None:
    """A person's resume of the account: back to ACTIVE, the drawdown counted again from
    the present equity (the new peak)."""
    _store(ledger, {"state": "ACTIVE", "reason": "", "peak_equity": equity(ledger)})


def summary(ledger: Ledger) -> dict:
    """The account for display: ``state`` (ACTIVE, REDUCING or HALTED), ``reason``,
    ``equity``, ``peak_equity``, ``drawdown``, ``day_loss``, ``gross_notional``,
    ``orders_last_minute`` and the ``limits`` set (dict, None = off)."""
    import time

    from lab.live.config import RiskLimits

    limits = RiskLimits.from_dict(ledger.account_limits())
    v = view(ledger, exclude="", symbol="", since=time.time() - 60.0)
    st = v.state
    reason = v.reason
    if st != "HALTED" and limits.max_daily_loss is not None and v.day_loss is not None \
            and v.day_loss >= limits.max_daily_loss:
        st = "REDUCING"
        reason = (f"account daily loss {v.day_loss:.4f} reached account.max_daily_loss "
                  f"{limits.max_daily_loss}")
    return {"state": st, "reason": reason, "equity": v.equity,
            "peak_equity": state(ledger)["peak_equity"], "drawdown": v.drawdown,
            "day_loss": v.day_loss, "gross_notional": v.other_notional,
            "orders_last_minute": v.orders_last_minute,
            "limits": {k: x for k, x in limits.to_dict().items()
                       if k not in ("flatten_at_utc", "waived")}}


def open_account(account: str = "paper", root: str | Path | None = None) -> Ledger | None:
    """The ledger of ``account`` ("paper" or "live"), None when it has no file yet."""
    from lab.live.ledger import ledger_path

    path = ledger_path(account, root)
    return Ledger(path) if path.exists() else None
