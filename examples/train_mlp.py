"""Train an MLP classifier on real data and show what the compiler did.

    python examples/train_mlp.py                      # 8x8 digits, no download, well under a minute
    python examples/train_mlp.py --dataset mnist --epochs 5 --batch-size 128        # ~98% test accuracy
    python examples/train_mlp.py --dataset cifar10 --epochs 10 --batch-size 128 --hidden 512,256 --lr 5e-4
    python examples/train_mlp.py --eager              # the same code, every op run at once (NumPy)
    python examples/train_mlp.py --no-compile         # each step builds its graph again (no step capture)

The job itself (data, model, training loop, the compiler's summary) is `tinytorch/tools/train_mlp.py`, which
`tinytorch demo` runs too; its docstring says where the data is read from.
"""
from tinytorch.tools.train_mlp import main

if __name__ == "__main__":
    main()
