"""AWS SDK clients, all built from the one cached boto3 session."""
