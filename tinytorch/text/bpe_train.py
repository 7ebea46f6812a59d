"""Learning byte-level BPE merges from a corpus, with pair counts updated incrementally.

The corpus is cut into words (`split_words`) and counted once, so the work scales with the distinct words
(~25k for Tiny Shakespeare's 1.1 MB), not the text. Each pair of adjacent tokens is counted over the word
counts, and `where[pair]` holds the words it occurs in. A merge rewrites only those words: each one's old pairs
are subtracted and its new pairs added, and every pair whose count changed is pushed on a max-heap again (an
entry whose count no longer matches is stale and skipped when popped). The most frequent pair wins; ties go to
the smallest pair of ids, so training is deterministic. Overlapping pairs count ("aaa" holds (a, a) twice), and
a merge rewrites a word left to right, as encoding does.

Two different pairs may spell the same bytes ((ab, c) and (a, bc)); the second reuses the first one's id (as
Hugging Face's trainer does), so a token's bytes name it and a merges file, which stores bytes, loads to the
very same ids.
"""
from __future__ import annotations

import heapq
from collections import Counter, defaultdict

from .bytelevel import split_words

NUM_BYTES = 256  # the base vocabulary: ids 0..255 are the bytes themselves


def merge_pair(ids: list, pair: tuple, new: int) -> list:
    """`ids` with each occurrence of `pair`, left to right, replaced by `new`."""
    # BEGIN EXERCISE m18.merge_pair
    out, i, n = [], 0, len(ids)
    a, b = pair
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
    # END EXERCISE m18.merge_pair


def train_merges(text: str, vocab_size: int, min_frequency: int = 2) -> list:
    """The merges, as (left bytes, right bytes) in the order learned, until the vocabulary (256 bytes plus the
    distinct merged tokens) holds `vocab_size` tokens or no pair occurs `min_frequency` times."""
    counts = Counter(split_words(text))
    words = [list(w.encode("utf-8")) for w in counts]
    freqs = list(counts.values())
    pair_count = defaultdict(int)
    where = defaultdict(set)
    for i, (w, f) in enumerate(zip(words, freqs)):
        for p in zip(w, w[1:]):
            pair_count[p] += f
            where[p].add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    token_bytes = [bytes([b]) for b in range(NUM_BYTES)]
    id_of = {t: i for i, t in enumerate(token_bytes)}
    merges = []
    while len(token_bytes) < vocab_size and heap:
        neg, pair = heapq.heappop(heap)
        count = pair_count.get(pair, 0)
        if count != -neg:
            continue
        if count < min_frequency:
            break
        merged = token_bytes[pair[0]] + token_bytes[pair[1]]
        new = id_of.setdefault(merged, len(token_bytes))
        if new == len(token_bytes):
            token_bytes.append(merged)
        merges.append((token_bytes[pair[0]], token_bytes[pair[1]]))
        changed = set()
        for i in where.pop(pair):
            old, f = words[i], freqs[i]
            rewritten = merge_pair(old, pair, new)
            if len(rewritten) == len(old):
                continue  # a stale entry: an earlier merge took the pair out of this word
            for p in zip(old, old[1:]):
                pair_count[p] -= f
                changed.add(p)
            for p in zip(rewritten, rewritten[1:]):
                pair_count[p] += f
                where[p].add(i)
                changed.add(p)
            words[i] = rewritten
        pair_count.pop(pair, None)
        for p in changed:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
            elif p in pair_count:
                del pair_count[p]
    return merges
