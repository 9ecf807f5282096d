"""What the door trusts: QR signing keys, revoked codes and the active sector rules."""
