"""ByteLevelBPE: GPT-2's byte-level byte-pair encoding, trained here or loaded from a merges file.

The base vocabulary is the 256 bytes (ids 0..255), so ANY string encodes: text never seen in training, emoji,
CJK, NUL, the empty string; `decode(encode(s)) == s` always. A merge joins two adjacent tokens into a new one
(ids 256, 257, ... in the order learned; two merges that spell the same bytes share an id). Encoding cuts the
text into words (`bytelevel.split_words`), then within each word repeatedly applies the lowest-ranked merge
present, which gives exactly the tokens sequential training would; each word's ids are cached, so encoding a
whole corpus costs about one dict lookup per word. `decode` joins the tokens' bytes and decodes them as UTF-8,
replacing invalid sequences (a model may sample half of a character) with U+FFFD.
"""
from __future__ import annotations

from .bpe_train import NUM_BYTES, merge_pair, train_merges
from .bytelevel import split_words
from .merges_file import read_merges, write_merges
from .tokenizer import Tokenizer, as_ids, check_utf8

CACHE_LIMIT = 1 << 16  # words whose ids are remembered; the cache starts over when full
NO_MERGE = (float("inf"),)  # ranks above every merge's (rank, id)


class ByteLevelBPE(Tokenizer):
    def __init__(self, merges=()):
        """From merges as (left bytes, right bytes) in rank order, each part a byte or an earlier merge."""
        self.merges = [(bytes(a), bytes(b)) for a, b in merges]
        self.token_bytes = [bytes([b]) for b in range(NUM_BYTES)]
        id_of = {t: i for i, t in enumerate(self.token_bytes)}
        self.ranks = {}  # (left id, right id) -> (rank, merged id)
        for rank, (a, b) in enumerate(self.merges):
            if a not in id_of or b not in id_of:
                raise ValueError(f"ByteLevelBPE: merge {rank} joins {a!r} and {b!r}, but one of them is neither a "
                                 "byte nor made by an earlier merge")
            new = id_of.setdefault(a + b, len(self.token_bytes))
            if new == len(self.token_bytes):
                self.token_bytes.append(a + b)
            self.ranks.setdefault((id_of[a], id_of[b]), (rank, new))
        self._cache = {}

    @classmethod
    def train(cls, text: str, vocab_size: int, min_frequency: int = 2) -> "ByteLevelBPE":
        """Learn merges from `text` until the vocabulary holds `vocab_size` tokens (fewer when no pair occurs
        `min_frequency` times)."""
        check_utf8(text, "ByteLevelBPE.train")
        if int(vocab_size) < NUM_BYTES:
            raise ValueError(f"ByteLevelBPE.train: vocab_size {vocab_size} is below the {NUM_BYTES} byte tokens "
                             f"every byte-level vocabulary starts with; ask for {NUM_BYTES} or more")
        if int(min_frequency) < 1:
            raise ValueError(f"ByteLevelBPE.train: min_frequency must be >= 1, got {min_frequency}")
        return cls(train_merges(text, int(vocab_size), int(min_frequency)))

    @property
    def vocab_size(self) -> int:
        return len(self.token_bytes)

    def __repr__(self):
        return f"ByteLevelBPE(vocab_size={self.vocab_size}, merges={len(self.merges)})"

    def _encode_word(self, word: str) -> list:
        # BEGIN EXERCISE m18.encode_word
        # STUB: return list(word.encode("utf-8"))  # no merges applied: every byte its own token
        ids, ranks = list(word.encode("utf-8")), self.ranks
        while len(ids) > 1:
            pair = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, NO_MERGE))
            hit = ranks.get(pair)
            if hit is None:
                break
            ids = merge_pair(ids, pair, hit[1])
        return ids
        # END EXERCISE m18.encode_word

    def encode(self, text: str) -> list:
        check_utf8(text, "ByteLevelBPE.encode")
        cache, out = self._cache, []
        for word in split_words(text):
            ids = cache.get(word)
            if ids is None:
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                ids = cache[word] = self._encode_word(word)
            out.extend(ids)
        return out

    def decode(self, ids) -> str:
        tb = self.token_bytes
        data = b"".join(tb[i] for i in as_ids(ids, self.vocab_size, "ByteLevelBPE.decode"))
        return data.decode("utf-8", errors="replace")

    def token(self, i: int) -> bytes:
        """The bytes of token `i`."""
        return self.token_bytes[as_ids([i], self.vocab_size, "ByteLevelBPE.token")[0]]

    def save(self, path) -> None:
        write_merges(path, self.merges)

    @classmethod
    def load(cls, path) -> "ByteLevelBPE":
        return cls(read_merges(path))
