"""Kept for imports written before the limiter became shared: domain/ratelimit.py."""

from domain.ratelimit import rate_limit_hit

__all__ = ["rate_limit_hit"]
