"""A stand-in IB Gateway speaking the TWS API wire protocol (see ``server``)."""

from .clock import FakeClock
from .server import Request, StandInGateway

__all__ = ["FakeClock", "Request", "StandInGateway"]
