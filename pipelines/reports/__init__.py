"""The daily division reports (CONTRACT section 7)."""
