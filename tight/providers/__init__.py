"""Cloud providers Tight runs on."""
