"""tinytorch.data: batching, reproducible shuffling, batch transforms, and the readers of real file formats.

The official CIFAR-10 (binary and python) and MNIST (IDX) formats are written
here as small synthetic files in tmp_path; the shared .npz files are read
where they exist. Nothing touches the network: download is tested with
file:// URLs.
"""
import gzip
import hashlib
import io
import json
import pickle
import tarfile

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import data as D
from tinytorch.data import transforms as T

from conftest import data_dir


# ---------------------------------------------------------------- Dataset / DataLoader

def _ds(n=10):
    x = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = (np.arange(n) % 4).astype(np.uint8)
    return D.TensorDataset(x, y), x, y


def test_loader_batches_cover_everything_once_with_settled_dtypes():
    ds, x, y = _ds(10)
    loader = D.DataLoader(ds, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[0]) for b in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert isinstance(xb, tt.Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x.astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), y)


def test_drop_last_and_numpy_output():
    ds, _, _ = _ds(10)
    loader = D.DataLoader(ds, batch_size=4, drop_last=True, to_tensor=False)
    batches = list(loader)
    assert len(loader) == 2 and [len(b[0]) for b in batches] == [4, 4]
    assert isinstance(batches[0][0], np.ndarray)


def _orders(loader, epochs):
    return [np.concatenate([b[0][:, 0] for b in loader]) for _ in range(epochs)]


def test_shuffle_is_a_permutation_reproducible_by_seed_and_epoch():
    ds, x, _ = _ds(50)
    a = _orders(D.DataLoader(ds, batch_size=8, shuffle=True, seed=3, to_tensor=False), 3)
    b = _orders(D.DataLoader(ds, batch_size=8, shuffle=True, seed=3, to_tensor=False), 3)
    c = _orders(D.DataLoader(ds, batch_size=8, shuffle=True, seed=4, to_tensor=False), 1)
    for e in range(3):
        np.testing.assert_array_equal(a[e], b[e])
        np.testing.assert_array_equal(np.sort(a[e]), x[:, 0])
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[0], c[0])
    resumed = D.DataLoader(ds, batch_size=8, shuffle=True, seed=3, to_tensor=False)
    resumed.set_epoch(2)
    np.testing.assert_array_equal(_orders(resumed, 1)[0], a[2])


def test_shuffle_with_a_generator_and_with_manual_seed():
    ds, _, _ = _ds(30)
    g1 = _orders(D.DataLoader(ds, 5, shuffle=True, generator=np.random.default_rng(7), to_tensor=False), 2)
    g2 = _orders(D.DataLoader(ds, 5, shuffle=True, generator=np.random.default_rng(7), to_tensor=False), 2)
    np.testing.assert_array_equal(np.stack(g1), np.stack(g2))
    tt.manual_seed(11)
    m1 = _orders(D.DataLoader(ds, 5, shuffle=True, to_tensor=False), 1)[0]
    tt.manual_seed(11)
    m2 = _orders(D.DataLoader(ds, 5, shuffle=True, to_tensor=False), 1)[0]
    np.testing.assert_array_equal(m1, m2)


def test_generic_dataset_is_stacked_and_transforms_apply_per_batch():
    class Squares(D.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return np.full((2,), i * i, dtype=np.float32), i

    seen = []
    loader = D.DataLoader(Squares(), batch_size=4, transform=lambda b: seen.append(b.shape) or b + 1,
                          target_transform=lambda t: t * 10)
    (xb, yb), (xb2, _) = list(loader)
    assert seen == [(4, 2), (2, 2)]
    np.testing.assert_array_equal(xb.numpy()[:, 0], [1, 2, 5, 10])
    np.testing.assert_array_equal(yb.numpy(), [0, 10, 20, 30])


def test_subset_and_random_split():
    ds, x, _ = _ds(20)
    a, b = D.random_split(ds, [15, 5], seed=1)
    got = np.concatenate([a.__getitems__(np.arange(15))[0][:, 0], b.__getitems__(np.arange(5))[0][:, 0]])
    np.testing.assert_array_equal(np.sort(got), x[:, 0])
    np.testing.assert_array_equal(a[0][0], ds[int(a.indices[0])][0])
    with pytest.raises(ValueError, match="sum to 19"):
        D.random_split(ds, [15, 4])


def test_tensor_dataset_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="array 1 has 3 rows"):
        D.TensorDataset(np.zeros(4), np.zeros(3))


# ---------------------------------------------------------------- transforms

def test_to_tensor_and_normalize_per_channel(rng):
    imgs = rng.integers(0, 256, (5, 4, 6, 3)).astype(np.uint8)
    x = T.ToTensor()(imgs)
    assert x.shape == (5, 3, 4, 6) and x.dtype == np.float32
    np.testing.assert_allclose(x[2, 1], imgs[2, :, :, 1] / 255.0, rtol=1e-6)
    mean, std = [0.1, 0.5, 0.9], [0.2, 0.3, 0.4]
    y = T.Normalize(mean, std)(x)
    for c in range(3):
        np.testing.assert_allclose(y[:, c], (x[:, c] - mean[c]) / std[c], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="3 channel means"):
        T.Normalize(mean, std)(imgs)


def test_random_crop_picks_a_window_of_the_padded_image(rng):
    x = rng.standard_normal((16, 2, 5, 5)).astype(np.float32)
    out = T.RandomCrop(5, padding=2, seed=0)(x)
    assert out.shape == x.shape
    padded = np.pad(x, [(0, 0), (0, 0), (2, 2), (2, 2)])
    offsets = []
    for i in range(len(x)):
        hits = [(dy, dx) for dy in range(5) for dx in range(5)
                if np.array_equal(out[i], padded[i, :, dy:dy + 5, dx:dx + 5])]
        assert hits, f"sample {i} is not a window of its padded image"
        offsets.append(hits[0])
    assert len(set(offsets)) > 3  # the offsets really vary
    np.testing.assert_array_equal(T.RandomCrop(5, padding=2, seed=0)(x), out)
    np.testing.assert_array_equal(T.RandomCrop(5)(x), x)


def test_random_horizontal_flip(rng):
    x = rng.standard_normal((64, 1, 3, 4))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    out = T.RandomHorizontalFlip(seed=5)(x)
    flipped = np.array([np.array_equal(o, s[..., ::-1]) for o, s in zip(out, x)])
    same = np.array([np.array_equal(o, s) for o, s in zip(out, x)])
    assert np.all(flipped ^ same) and 10 < flipped.sum() < 54
    np.testing.assert_array_equal(T.RandomHorizontalFlip(seed=5)(x), out)


def test_compose_and_flatten():
    imgs = np.full((2, 4, 4), 255, dtype=np.uint8)
    t = T.Compose([T.ToTensor(), T.Normalize(0.5, 0.5), T.Flatten()])
    out = t(imgs)
    assert out.shape == (2, 16) and np.allclose(out, 1.0)


# ---------------------------------------------------------------- CIFAR-10 official formats

def _cifar_images(rng, n):
    return rng.integers(0, 256, (n, 32, 32, 3)).astype(np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def _write_cifar_bin(folder, rng, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    xs, ys = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x, y = _cifar_images(rng, n)
        rows = x.transpose(0, 3, 1, 2).reshape(n, 3072)
        (folder / f"{name}.bin").write_bytes(np.concatenate([y[:, None], rows], axis=1).tobytes())
        xs.append(x)
        ys.append(y)
    return xs, ys


def test_cifar_binary_reader(tmp_path, rng):
    xs, ys = _write_cifar_bin(tmp_path / "cifar-10-batches-bin", rng)
    ds = D.CIFAR10(root=tmp_path, train=True)
    np.testing.assert_array_equal(ds.data, np.concatenate(xs[:5]))
    np.testing.assert_array_equal(ds.targets, np.concatenate(ys[:5]))
    x, y = D.load_cifar10(tmp_path, train=False)
    np.testing.assert_array_equal(x, xs[5])
    np.testing.assert_array_equal(y, ys[5])
    bad = tmp_path / "cifar-10-batches-bin" / "test_batch.bin"
    bad.write_bytes(bad.read_bytes()[:-100])
    with pytest.raises(D.DatasetCorruptError, match="test_batch.bin.*not a whole number"):
        D.load_cifar10(tmp_path, train=False)


def test_cifar_python_reader_uses_the_restricted_unpickler(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    xs, ys = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x, y = _cifar_images(rng, 2)
        batch = {b"batch_label": b"synthetic", b"labels": [int(v) for v in y],
                 b"data": x.transpose(0, 3, 1, 2).reshape(2, 3072), b"filenames": [b"a.png", b"b.png"]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        xs.append(x)
        ys.append(y)
    x, y = D.load_cifar10(tmp_path, train=True)
    np.testing.assert_array_equal(x, np.concatenate(xs[:5]))
    np.testing.assert_array_equal(y, np.concatenate(ys[:5]))


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (exec, (f"open({str(self.target)!r}, 'w').write('pwned')",))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned.txt"
    payload = pickle.dumps({b"data": _Evil(marker), b"labels": [1]}, protocol=2)
    with pytest.raises(D.UnsafePickleError, match=r"global (__builtin__|builtins)\.exec"):
        D.safe_load(payload)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(payload)
    with pytest.raises(D.UnsafePickleError, match="test_batch"):
        D.load_cifar10(tmp_path, train=False)
    assert not marker.exists()
    pickle.loads(payload)  # plain pickle runs it: the payload really was live
    assert marker.read_text() == "pwned"
    with pytest.raises(D.UnsafePickleError, match="object array"):
        D.safe_load(pickle.dumps(np.array([1, "x"], dtype=object)))
    assert D.safe_load(pickle.dumps({"a": [1, 2.5, b"x"], "b": np.arange(3)}))["a"] == [1, 2.5, b"x"]


def test_npz_size_and_sha256_checks_against_manifest(tmp_path, rng):
    x, y = _cifar_images(rng, 4)
    np.savez(tmp_path / "cifar10_test.npz", x_test=x, y_test=y)
    path = tmp_path / "cifar10_test.npz"
    real = {"bytes": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"cifar10_test.npz": real}))
    np.testing.assert_array_equal(D.load_cifar10(tmp_path, train=False, verify="sha256")[0], x)
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"cifar10_test.npz": dict(real, bytes=real["bytes"] + 1)}))
    with pytest.raises(D.DatasetCorruptError, match=r"cifar10_test.npz: \d+ bytes, expected"):
        D.load_cifar10(tmp_path, train=False)
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"cifar10_test.npz": dict(real, sha256="0" * 64)}))
    D.load_cifar10(tmp_path, train=False)  # the default check is the size only
    with pytest.raises(D.DatasetCorruptError, match="sha256"):
        D.load_cifar10(tmp_path, train=False, verify="sha256")


def test_missing_dataset_error_says_what_where_and_how(tmp_path, monkeypatch):
    with pytest.raises(D.DatasetNotFoundError) as e:
        D.CIFAR10(root=tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg and "cifar10_train_part1.npz" in msg and "cifar-10-batches-bin/data_batch_1.bin" in msg
    assert "download=True" in msg and "TINYTORCH_DATA" in msg
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(D.DatasetNotFoundError) as e:
        D.load_mnist()
    assert str(tmp_path / "env") in str(e.value) and str(tmp_path / "home" / ".cache" / "tinytorch") in str(e.value)


# ---------------------------------------------------------------- MNIST official formats

def _idx_bytes(a: np.ndarray, code=0x08) -> bytes:
    header = bytes([0, 0, code, a.ndim]) + np.array(a.shape, dtype=">i4").tobytes()
    return header + a.astype(a.dtype.newbyteorder(">")).tobytes()


def test_idx_reader_plain_gzip_and_other_dtypes(tmp_path, rng):
    a = rng.integers(0, 256, (3, 28, 28)).astype(np.uint8)
    (tmp_path / "a").write_bytes(_idx_bytes(a))
    (tmp_path / "a.gz").write_bytes(gzip.compress(_idx_bytes(a)))
    np.testing.assert_array_equal(D.read_idx(tmp_path / "a"), a)
    np.testing.assert_array_equal(D.read_idx(tmp_path / "a.gz"), a)
    f = rng.standard_normal((2, 5)).astype(np.float32)
    (tmp_path / "f").write_bytes(_idx_bytes(f, 0x0D))
    np.testing.assert_array_equal(D.read_idx(tmp_path / "f"), f)
    (tmp_path / "short").write_bytes(_idx_bytes(a)[:-7])
    with pytest.raises(D.DatasetCorruptError, match="short.*truncated"):
        D.read_idx(tmp_path / "short")
    (tmp_path / "junk").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(D.DatasetCorruptError, match="junk: not an IDX file"):
        D.read_idx(tmp_path / "junk")


def test_mnist_from_idx_files_in_torchvision_layout(tmp_path, rng):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    x = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    y = rng.integers(0, 10, 5).astype(np.uint8)
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(x)))
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(y)))
    ds = D.MNIST(tmp_path, train=False)
    np.testing.assert_array_equal(ds.data, x)
    np.testing.assert_array_equal(ds.targets, y)
    with pytest.raises(D.DatasetNotFoundError, match="train-images-idx3-ubyte"):
        D.MNIST(tmp_path, train=True)


# ---------------------------------------------------------------- download (file:// only)

def test_download_checks_sha256_and_leaves_nothing_behind_on_mismatch(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"tinytorch" * 1000)
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(D.DatasetCorruptError, match="expected " + "1" * 64):
        D.download_url(src.as_uri(), dest, sha256="1" * 64, progress=False)
    assert not dest.exists() and not list((tmp_path / "out").iterdir())
    assert D.download_url(src.as_uri(), dest, sha256=good, progress=False).read_bytes() == src.read_bytes()

    def no_network(url):
        raise AssertionError("a verified file must not be fetched again")
    D.download_url("https://example.invalid/file.bin", dest, sha256=good, progress=False, opener=no_network)


def test_cifar_download_path_end_to_end(tmp_path, rng, monkeypatch):
    staging = tmp_path / "staging"
    _write_cifar_bin(staging / "cifar-10-batches-bin", rng, n=2)
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    from tinytorch.data import cifar10
    monkeypatch.setattr(cifar10, "URL", archive.as_uri())
    monkeypatch.setattr(cifar10, "SHA256", hashlib.sha256(archive.read_bytes()).hexdigest())
    x, y = D.load_cifar10(tmp_path / "root", train=True, download=True)
    assert x.shape == (10, 32, 32, 3) and (tmp_path / "root" / "cifar-10-binary.tar.gz").is_file()


def test_extract_refuses_members_outside_the_target(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(D.DatasetCorruptError, match="escape.txt"):
        D.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


# ---------------------------------------------------------------- the real files (shared datasets)

def _manifest(name):
    return json.loads((data_dir() / "MANIFEST.json").read_text())[name]["arrays"]


def test_real_mnist_npz():
    root = data_dir()
    ds = D.MNIST(root, train=False)
    assert ds.data.shape == (10000, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets[:10].tolist() == _manifest("mnist.npz")["y_test"]["first10"]


def test_real_cifar10_test_npz():
    x, y = D.load_cifar10(data_dir(), train=False)
    assert x.shape == (10000, 32, 32, 3)
    assert np.bincount(y).tolist() == _manifest("cifar10_test.npz")["y_test"]["counts"]


def test_real_digits_and_the_sklearn_copy_agree(tmp_path):
    x, y = D.load_digits(data_dir(), verify="sha256")  # the full sha256 against MANIFEST.json (45 KB)
    assert x.shape == (1797, 8, 8) and x.max() == 16
    assert np.bincount(y).tolist() == _manifest("sklearn_digits.npz")["y"]["counts"]
    pytest.importorskip("sklearn")
    xs, ys = D.load_digits(tmp_path)  # nothing there: falls back to scikit-learn's copy of the UCI file
    np.testing.assert_array_equal(xs, x)
    np.testing.assert_array_equal(ys, y)
    tr, te = D.Digits(data_dir(), train=True), D.Digits(data_dir(), train=False)
    assert len(tr) + len(te) == 1797 and len(te) == 359


def test_char_dataset_on_tinyshakespeare():
    ds = D.CharDataset("tinyshakespeare.txt", block_size=16, root=data_dir())
    assert ds.vocab_size == 65 and len(ds) == 1115394 - 16
    text = "First Citizen:"
    assert ds.decode(ds.encode(text)) == text
    x, y = ds[3]
    np.testing.assert_array_equal(x[1:], y[:-1])
    xb, yb = ds.__getitems__(np.array([3, 100]))
    np.testing.assert_array_equal(xb[0], x)
    np.testing.assert_array_equal(yb[1], ds[100][1])
    xt, yt = next(iter(D.DataLoader(ds, batch_size=4)))
    assert xt.dtype == np.int64 and xt.shape == (4, 16)
    with pytest.raises(KeyError, match="not in the vocabulary"):
        ds.encode("\u00e9")


def test_char_dataset_from_text_and_splits():
    ds = D.CharDataset(text="abcabcabcabc", block_size=3)
    assert ds.chars == ["a", "b", "c"] and len(ds) == 9
    val = D.CharDataset(text="abcdefghij" * 2, block_size=2, split="val", val_fraction=0.25)
    assert val.vocab_size == 10 and val.decode(val.data) == "fghij"


# ---------------------------------------------------------------- unreadable files and out-of-range labels

def _mnist_arrays(n=4, label=3):
    return dict(x_train=np.zeros((n, 28, 28), np.uint8), y_train=np.full(n, label, np.uint8),
                x_test=np.zeros((n, 28, 28), np.uint8), y_test=np.full(n, label, np.uint8))


def _write_npz_object_array(path):
    """An .npz whose y_train is an object (pickled) array: NumPy's own error would advise allow_pickle=True."""
    arrays = _mnist_arrays()
    arrays["y_train"] = np.array([1, "x", None, 2], dtype=object)
    np.savez(path, **arrays)


BAD_MNIST = {  # name -> how to write a corrupt mnist.npz, and what the error must say
    "random bytes": (lambda p: p.write_bytes(np.random.default_rng(0).bytes(3000)), "not a readable|unreadable"),
    "truncated zip": (lambda p: (np.savez(p, **_mnist_arrays()), p.write_bytes(p.read_bytes()[:400])),
                      "not a readable|unreadable"),
    "missing keys": (lambda p: np.savez(p, images=np.zeros((2, 28, 28), np.uint8)), "expected x_train, y_train"),
    "object array": (_write_npz_object_array, "pickled"),
    "plain npy": (lambda p: p.write_bytes(_npy_bytes(np.zeros(3))), "single .npy"),
    "label 200": (lambda p: np.savez(p, **_mnist_arrays(label=200)), "label 200 is outside 0..9"),
}


def _npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(BAD_MNIST))
def test_corrupt_mnist_npz_is_a_dataset_error_naming_the_file(tmp_path, name):
    write, pattern = BAD_MNIST[name]
    write(tmp_path / "mnist.npz")
    with pytest.raises(D.DatasetCorruptError, match=pattern) as info:
        D.load_mnist(tmp_path, train=True)
    assert str(tmp_path / "mnist.npz") in str(info.value)
    assert "allow_pickle" not in str(info.value)


def test_idx_labels_out_of_range_name_the_labels_file(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(np.array([1, 200], np.uint8)))
    with pytest.raises(D.DatasetCorruptError, match=r"t10k-labels-idx1-ubyte: label 200 is outside 0..9"):
        D.load_mnist(tmp_path, train=False)


def test_cifar_npz_and_python_labels_out_of_range(tmp_path):
    np.savez(tmp_path / "cifar10_test.npz", x_test=np.zeros((2, 32, 32, 3), np.uint8), y_test=np.array([0, 12]))
    with pytest.raises(D.DatasetCorruptError, match=r"cifar10_test.npz: label 12 is outside 0..9"):
        D.load_cifar10(tmp_path, train=False)
    folder = tmp_path / "py" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, -1]}, f)
    with pytest.raises(D.DatasetCorruptError, match=r"test_batch: label -1 is outside 0..9"):
        D.load_cifar10(tmp_path / "py", train=False)


def test_garbage_python_batch_and_manifest_are_dataset_errors(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(b"\x80\x02garbage that is no pickle")
    with pytest.raises(D.DatasetCorruptError, match="test_batch: not a readable python batch"):
        D.load_cifar10(tmp_path, train=False)
    np.savez(tmp_path / "cifar10_test.npz", x_test=np.zeros((1, 32, 32, 3), np.uint8), y_test=np.zeros(1, np.uint8))
    (tmp_path / "MANIFEST.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(D.DatasetCorruptError, match="MANIFEST.json: cannot read the manifest"):
        D.load_cifar10(tmp_path, train=False)
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"cifar10_test.npz": {"bytes": "many"}}))
    with pytest.raises(D.DatasetCorruptError, match="MANIFEST.json: the entry for cifar10_test.npz"):
        D.load_cifar10(tmp_path, train=False)
