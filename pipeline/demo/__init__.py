"""The offline demo: sample feeds and pages on a loopback server, the real pipeline against them."""

from .site import build_routes, run_demo

__all__ = ["build_routes", "run_demo"]
