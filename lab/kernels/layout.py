"""The kernels' array layouts and codes, in one place.

Every column index and integer code that crosses the boundary between the numba
kernels (``lab.kernels.engine``, ``lab.kernels.sweep``) and the Python around them
(``lab.engines``, ``lab.costs.rules``, the paper broker) is defined here and nowhere
else. numba reads these module globals as compile-time constants, so using a name
instead of a literal changes no compiled code.

Layouts (all float64 arrays):

* ``P_*``: the parameter vector of one run, shape ``(N_PARAMS,)``, built by
  ``lab.engines.vectorized.params_vector``.
* ``S_*``: the running state of one run, shape ``(N_STATE,)``.
* ``T_*``: one closed trade, shape ``(cap, N_TRADE_COLS)``.
* ``O_*``: one fill, shape ``(cap, N_ORDER_COLS)``.

Codes (stored as floats in the vectors above, compared as ints):

* ``DIR_*`` direction, ``BOTH_*`` stop-and-target-on-one-bar rule, ``SIZE_*`` sizing,
  ``COMM_*`` commission model; ``*_CODES`` map the string values of the enums of
  ``lab.core.types`` (``Direction``, ``BothHitRule``, ``SizeType``,
  ``CommissionModel``) to these codes (kernels may not import ``lab.core``).
* ``R_*`` exit reasons (same values as ``lab.core.types.ExitReason``) and
  ``R_ENTRY`` (-1) in ``O_REASON`` for an entry fill.
* ``PEND_*`` the action pending for the next open.
* ``SIDE_BUY`` / ``SIDE_SELL`` in ``O_SIDE``; ``T_SIDE`` is +1 long, -1 short.
"""

from __future__ import annotations

# Parameter vector (float64, shape (N_PARAMS,)).
P_DIRECTION = 0      # DIR_* code
P_LEVERAGE = 1
P_MM = 2             # maintenance margin, fraction of notional
P_SL = 3             # fraction of entry price, NaN = off
P_TP = 4             # fraction of entry price, NaN = off
P_BOTH_HIT = 5       # BOTH_* code
P_SIZE_TYPE = 6      # SIZE_* code
P_SIZE = 7
P_WHOLE = 8          # 1.0 = whole units only
P_COMM_MODEL = 9     # COMM_* code
P_COMM_RATE = 10
P_COMM_MIN = 11
P_COMM_MAXF = 12
P_SLIPPAGE = 13      # fraction of price
P_MULT = 14          # contract multiplier
P_CASH = 15          # starting equity
P_MIN_NOTIONAL = 16  # smallest entry notional, account currency (0 = off)
P_IM = 17            # futures initial margin per unit (contract), account currency; 0 = off
P_MMPC = 18          # futures maintenance margin per unit, account currency (with P_IM)
P_TICK = 19          # tick size: stop / target prices rounded to it (0 = off)
P_EXCH_FEE = 20      # exchange + regulatory fee per unit per fill, account currency
P_SEC_FEE = 21       # fee on sells, fraction of the sale notional (SEC Section 31)
N_PARAMS = 22

# Running state of one run (float64, shape (N_STATE,)).
S_CASH = 0
S_QTY = 1            # signed quantity, > 0 long
S_ENTRY = 2          # entry fill price
S_ENTRY_FEE = 3
S_ENTRY_IDX = 4
S_SL = 5             # stop price (NaN = none)
S_TP = 6             # target price (NaN = none)
S_LIQ = 7            # liquidation price (0 for a long at leverage 1)
S_BUST = 8           # 1.0 once equity <= 0: no new entries
# Running trade statistics (the sweep kernel reads these instead of trade records).
S_N_TRADES = 9       # closed trades
S_N_WINS = 10        # closed trades with pnl > 0
S_GROSS_WIN = 11     # sum of pnl > 0, account currency
S_GROSS_LOSS = 12    # -sum of pnl < 0 (>= 0), account currency
S_SUM_PNL = 13       # sum of trade pnl, account currency
S_SUM_TRADE_RET = 14  # sum of pnl / margin committed at entry (0 when no margin)
S_FEES = 15          # fees paid on closed trades (entry + exit), account currency
S_N_LIQ = 16         # trades closed by liquidation
N_STATE = 17

# Exit reasons (values of lab.core.types.ExitReason); R_ENTRY marks an entry fill.
R_SIGNAL = 0
R_STOP = 1
R_TARGET = 2
R_LIQUIDATION = 3
R_END = 4
R_ENTRY = -1
#: Lower-case names of the exit reasons, indexed by code.
REASON_NAMES = ("signal", "stop", "target", "liquidation", "end")

# Pending action for the next open.
PEND_NONE = 0
PEND_CLOSE = 1
PEND_LONG = 2
PEND_SHORT = 3

# Trade record (float64, shape (cap, N_TRADE_COLS)).
T_ENTRY_IDX = 0
T_EXIT_IDX = 1
T_SIDE = 2           # +1 long, -1 short
T_QTY = 3
T_ENTRY_PRICE = 4
T_EXIT_PRICE = 5
T_PNL = 6            # net of entry and exit commission, account currency
T_FEES = 7
T_REASON = 8         # R_* code
T_MARGIN = 9         # margin committed at entry (entry notional / leverage, or
                     # contracts x initial margin with P_IM)
N_TRADE_COLS = 10

# Fill record (float64, shape (cap, N_ORDER_COLS)).
O_IDX = 0
O_SIDE = 1           # SIDE_BUY or SIDE_SELL
O_QTY = 2
O_PRICE = 3
O_FEE = 4
O_REASON = 5         # R_ENTRY, else the R_* exit reason
N_ORDER_COLS = 6
SIDE_BUY = 1.0
SIDE_SELL = -1.0

# Direction codes (P_DIRECTION).
DIR_LONG = 0
DIR_SHORT = 1
DIR_BOTH = 2
DIRECTION_CODES = {"long": DIR_LONG, "short": DIR_SHORT, "both": DIR_BOTH}

# Stop and target both reached within one bar (P_BOTH_HIT).
BOTH_STOP_FIRST = 0
BOTH_TARGET_FIRST = 1
BOTH_NEAREST_TO_OPEN = 2
BOTH_HIT_CODES = {"stop_first": BOTH_STOP_FIRST, "target_first": BOTH_TARGET_FIRST,
                  "nearest_to_open": BOTH_NEAREST_TO_OPEN}

# Sizing (P_SIZE_TYPE).
SIZE_EQUITY_FRACTION = 0
SIZE_QUANTITY = 1
SIZE_NOTIONAL = 2
SIZE_TYPE_CODES = {"equity_fraction": SIZE_EQUITY_FRACTION, "quantity": SIZE_QUANTITY,
                   "notional": SIZE_NOTIONAL}

# Commission models (P_COMM_MODEL; lab.kernels.costs.commission_nb).
COMM_PERCENT = 0
COMM_PER_SHARE = 1
COMM_PER_CONTRACT = 2
COMMISSION_CODES = {"percent": COMM_PERCENT, "per_share": COMM_PER_SHARE,
                    "per_contract": COMM_PER_CONTRACT}
