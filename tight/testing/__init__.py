"""Testing support for Tight apps, used by the pytest plugin in ``tight.core.test_helpers``.

Nothing here is imported by the runtime that serves requests; the modules import their
test-only dependencies (placebo, vcrpy, PyYAML) only when a test uses them.
"""
