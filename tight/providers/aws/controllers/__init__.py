"""Controllers: decorators that turn plain functions into handlers for an event source."""
