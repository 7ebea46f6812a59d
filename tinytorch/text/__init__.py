"""tinytorch.text: tokenizers and language-modelling datasets (pure Python and NumPy).

`CharTokenizer` (one id per character), `ByteLevelBPE` (GPT-2's byte-level BPE: trained here, merges saved as
a readable file, any string round-trips), `TextDataset` (a token stream split train/val with nanoGPT's
`get_batch`) and `LMDataset` (a split's windows for the DataLoader), `load_text` (files and known corpora).
"""
from .tokenizer import Tokenizer  # noqa: F401
from .char import CharTokenizer, UnknownCharacterError  # noqa: F401
from .bpe import ByteLevelBPE  # noqa: F401
from .bytelevel import split_words  # noqa: F401
from .corpus import CORPORA, find_text, load_text  # noqa: F401
from .dataset import LMDataset, TextDataset  # noqa: F401
