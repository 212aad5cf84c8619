"""CRNN + CTC line recognition (see docs/architecture.md for the exported contract)."""
