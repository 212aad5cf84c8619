"""DB (Differentiable Binarization) text-line detection: targets, network, loss, post-processing."""
