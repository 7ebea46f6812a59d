"""The eight milestones: one `Milestone` record each (name, year, what, data, the seed's figure, default epochs,
and the function that builds its stages), in historical order."""
from __future__ import annotations

import dataclasses

from . import early, lenet, mlp, modern

ACCURACY, VAL_LOSS = "test accuracy", "validation loss"


@dataclasses.dataclass(frozen=True)
class Milestone:
    name: str
    year: int
    what: str
    datasets: tuple            # the first is the default, the one the figure is measured on
    seed_figure: str           # what the seed reported or asked for
    epochs: int | None         # default epochs (None: the transformer's time budget)
    stages: object = None      # stages(Settings) -> [Stage]; None: the transformer's own loop
    metric: str = ACCURACY
    target: float | None = None  # the figure to reach (accuracy) or stay under (validation loss)

    @property
    def default_dataset(self) -> str:
        return self.datasets[0]


MILESTONES = (
    Milestone("perceptron-1957", 1957, "Rosenblatt's perceptron learning rule", ("points+digits",),
              "separates them", 3, early.perceptron_stages, target=1.0),
    Milestone("xor-1969", 1969, "a single layer fails on XOR; two layers trained by backprop solve it", ("xor",),
              "100%", 4, early.xor_stages, target=1.0),
    Milestone("mlp-1986", 1986, "a backprop MLP (784-512-256-10, ReLU, Adam, cosine decay)", ("mnist", "digits"),
              ">= 98% MNIST test", 8, mlp.mlp1986_stages, target=0.98),
    Milestone("mlp-cifar", 1986, "the MLP baseline that motivated CNNs (3072-512-256-10)", ("cifar10",),
              "52.7%", 10, mlp.mlp_cifar_stages, target=0.527),
    Milestone("lenet1-1989", 1989, "LeNet-1: 5x5 convs of 4 and 12 maps, tanh, average pooling",
              ("cifar10", "mnist"), "39.4% CIFAR-10", 10, lenet.lenet1_stages, target=0.394),
    Milestone("lenet5-1998", 1998, "LeNet-5: convs of 6 and 16 maps, 120-84-10 head, tanh, average pooling",
              ("cifar10", "mnist"), "47.5% CIFAR-10", 10, lenet.lenet5_stages, target=0.475),
    Milestone("cnn-modern", 2015, "VGG-style: six 3x3 convs of 32/64/128 channels, BatchNorm, ReLU, crop and flip, "
              "SGD one-cycle", ("cifar10",), "75%+ (issue 14: 80% within 30 min)", 12, modern.cnn_modern_stages,
              target=0.80),
    Milestone("transformer-2017", 2017, "the character GPT (4 layers, 4 heads, 128 wide, context 128)",
              ("tinyshakespeare",), "<= 1.55 nats/char within 20 min", None, metric=VAL_LOSS, target=1.55),
)


def get(name: str) -> Milestone:
    """The milestone called `name` (its year may be left off: `lenet5` is lenet5-1998)."""
    for m in MILESTONES:
        if name in (m.name, m.name.rsplit("-", 1)[0]):
            return m
    raise KeyError(f"no milestone {name!r}; the milestones are: {', '.join(m.name for m in MILESTONES)} "
                   f"(`tinytorch milestones list` describes them)")
