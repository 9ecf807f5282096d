"""A TCP proxy that a test can cut and restore (now in lindung_shared.testing, which the
cross-service fault tests use too)."""

from lindung_shared.testing import TcpProxy

__all__ = ["TcpProxy"]
