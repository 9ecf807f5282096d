"""Lindung health-records: people, national health feeds, screening status and cases."""
