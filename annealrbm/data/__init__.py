"""Data sets: the built-in toy sets, binarized MNIST (`datasets`) and its checksummed download (`fetch`)."""
