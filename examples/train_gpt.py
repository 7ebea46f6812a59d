"""Train a character-level GPT on Tiny Shakespeare, then sample from it.

    python examples/train_gpt.py                    # 4 layers, 4 heads, 128 wide, context 128, batch 32, 20 min
    python examples/train_gpt.py --long             # 6 layers, 6 heads, 192 wide, context 256, dropout 0.1, 90 min
    python examples/train_gpt.py --max-steps 300    # stop after 300 steps (a quick check that it learns)
    python examples/train_gpt.py --resume           # continue from the last checkpoint in --out

The text is `tinyshakespeare.txt`, looked for in --data, then $TINYTORCH_DATA, then ../shared/datasets next to
the repository (--download fetches it). The training loop is `tinytorch.milestones.transformer`, the same one
`tinytorch milestones run transformer-2017` runs; its docstring has the recipe. Every --eval-every steps the
validation loss goes to OUT/log.csv, every --ckpt-every steps a checkpoint to OUT/ckpt.npz; at the end the
weights go to OUT/gpt.safetensors and a sample is printed.
"""
from __future__ import annotations

import sys

from tinytorch.milestones import transformer


def main(argv=None) -> int:
    return transformer.main(argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
