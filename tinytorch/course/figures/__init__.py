"""One file per course module with a measured figure: mNN.py defines `figure()`, which prints it."""
