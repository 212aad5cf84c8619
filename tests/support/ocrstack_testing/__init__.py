"""Helpers shared by the test suite (an installed package: no reliance on pytest's sys.path)."""
