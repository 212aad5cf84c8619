"""Offline tooling around the OCR service's models (not imported by the service at run time)."""
