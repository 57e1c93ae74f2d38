"""The journal: the only code that opens data files, sealed checkpoints, retention."""
