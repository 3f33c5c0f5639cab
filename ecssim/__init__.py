"""ecssim."""
