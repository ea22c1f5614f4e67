"""Helpers shared by the tests of several packages: services a test starts for itself (Redis,
a registry, a second Docker engine, a scripted LLM), the real task image, run requests,
subprocess environments and polling. Nothing here is a test; fixtures stay in conftest.py."""
