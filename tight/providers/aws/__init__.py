"""AWS: Lambda entry points, lambda-proxy controllers and AWS SDK clients."""
