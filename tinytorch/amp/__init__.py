"""Mixed precision: `autocast` (which dtype each op runs in, `policy.py`) and `GradScaler` (dynamic loss
scaling). Kept import-free so frontend modules can import `amp.autocast` without pulling in the optimizers;
`tinytorch/__init__.py` exports the public names from the submodules."""
