"""HTTP for Lambda: the request view, the response builder and the HTTP errors."""
