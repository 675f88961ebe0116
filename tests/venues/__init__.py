"""Local stand-ins for market data venues (HTTP servers on 127.0.0.1 speaking each
venue's own JSON), so the real client libraries (ccxt, yfinance, databento) run in tests."""
