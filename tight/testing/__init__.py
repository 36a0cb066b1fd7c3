"""Testing support for Tight apps: the pytest plugin (``tight.testing.plugin``), event
factories, record/playback of AWS and HTTP calls, scrubbing and the network guard.

Never shipped to Lambda (``doit vendor`` leaves it out), so unlike the runtime it may
import the toolkit, ``tight_tasks``, which reads tight.yml and env files for the plugin.
Its modules import their test-only dependencies (placebo, vcrpy, PyYAML) only when a test
uses them.
"""
