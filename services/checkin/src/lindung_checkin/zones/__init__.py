"""Zone levels per regency, and alerts to recent visitors when a regency turns red."""
