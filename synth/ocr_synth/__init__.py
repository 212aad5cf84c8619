"""Seeded synthetic documents and text lines with exact ground truth, for training and evaluating
the CTPN detector and the CRNN recognizer."""
