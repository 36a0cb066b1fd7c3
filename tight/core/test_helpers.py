"""The original Tight's path of the pytest plugin, kept importable: the plugin itself is
``tight.testing.plugin``, and this name is that very module (one set of fixtures and
hooks, whichever name imports it). Never shipped to Lambda, like ``tight.testing``.
"""

import sys

from tight.testing import plugin

sys.modules[__name__] = plugin
