"""tinytorch.data: datasets, a batching DataLoader, batch transforms and readers for real dataset files.

Everything here is NumPy until the DataLoader hands a batch over as tinytorch
tensors, so the data pipeline never enters the op graph.
"""
from .dataset import Dataset, TensorDataset, Subset, random_split  # noqa: F401
from .loader import DataLoader  # noqa: F401
from . import transforms  # noqa: F401
from .paths import data_root, find_file, DatasetNotFoundError, DatasetCorruptError  # noqa: F401
from .checksums import sha256_file, verify_file  # noqa: F401
from .download import download_url, extract_archive  # noqa: F401
from .safe_pickle import safe_load, UnsafePickleError  # noqa: F401
from .cifar10 import CIFAR10, load_cifar10  # noqa: F401
from .mnist import MNIST, load_mnist, read_idx  # noqa: F401
from .digits import Digits, load_digits  # noqa: F401
from .text import CharDataset  # noqa: F401
