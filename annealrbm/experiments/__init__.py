"""Experiments built on the training loop: the 20-bit pattern experiment (`patterns`), the
backend comparison harness (`compare`) and their figures (`plots`)."""
