"""Health certificates in the EU Digital COVID Certificate (HCERT) format: issue and verify."""
