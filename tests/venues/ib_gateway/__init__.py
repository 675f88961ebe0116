"""A stand-in IB Gateway speaking the TWS API wire protocol (see ``server``)."""

from .server import Request, StandInGateway

__all__ = ["Request", "StandInGateway"]
