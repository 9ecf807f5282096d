"""Daily partitions ahead of time, and retention by dropping whole partitions."""
