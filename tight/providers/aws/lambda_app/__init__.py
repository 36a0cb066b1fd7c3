"""The Lambda entry point: ``app.run()`` exposes every app function on ``app_index``."""
