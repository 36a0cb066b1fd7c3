"""Core helpers shared by every part of the runtime: logging, safe lookups, test helpers."""
