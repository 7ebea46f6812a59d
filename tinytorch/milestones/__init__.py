"""tinytorch.milestones: ML history recreated, each milestone's model trained on its real data.

`MILESTONES` (registry.py) lists the eight, from Rosenblatt's perceptron (1957) to the character GPT (2017);
`run(milestone, settings, out)` (runner.py) trains one with checkpoints and resume and appends its figures to a
results file (results.py). One module per era holds the models and recipes: early.py (perceptron, XOR),
mlp.py, lenet.py, modern.py (the VGG-style CNN), transformer.py (the GPT loop `examples/train_gpt.py` runs too).
`tinytorch milestones` (tinytorch/cli/milestones.py) is the command over it.
"""
from .registry import MILESTONES, Milestone, get  # noqa: F401
from .data import MissingData  # noqa: F401
from .runner import run, settings_for  # noqa: F401
from . import results  # noqa: F401
