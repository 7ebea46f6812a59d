"""Turn harness rows into tables (aligned text or Markdown): times and ratios, then what the compiler built.

Ratios are a / b of medians from the same run: above 1 means b (the compiled Program) is faster.
GB/s is the bytes the Program's kernels read and write (Kernel.bytes_read + bytes_written) over the
median step time; "copy" is np.copyto moving the same number of bytes (half read, half written).
"""
from __future__ import annotations

import math

NA = "n/a"
RATIOS = (("eager", "compiled-numpy"), ("eager", "compiled-llvm"), ("torch", "compiled-numpy"),
          ("torch", "compiled-llvm"))
SHORT = {"compiled-numpy": "c-numpy", "compiled-llvm": "c-llvm"}


def _ms(v) -> str:
    if isinstance(v, str):
        return v
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def _ratio(a, b) -> str:
    if isinstance(a, str) or isinstance(b, str) or not b:
        return NA
    return f"{a / b:.2f}"


def _mb(b) -> str:
    return f"{b / 1e6:.2f}"


def time_table(rows, columns):
    head = ["workload"] + [f"{c} ms" for c in columns]
    ratios = [(a, b) for a, b in RATIOS if a in columns and b in columns]
    head += [f"{a}/{SHORT.get(b, b)}" for a, b in ratios]
    body = []
    for r in rows:
        ms = r["ms"]
        body.append([r["workload"]] + [_ms(ms.get(c, NA)) for c in columns]
                    + [_ratio(ms.get(a, NA), ms.get(b, NA)) for a, b in ratios])
    return head, body


def _per_backend(r, key, fmt, backends):
    vals = [fmt(r["facts"][b][key]) if b in r["facts"] else NA for b in backends]
    if all(v == NA for v in vals[1:]):
        return vals[0]
    return " / ".join(vals)


def _gbs(r, b):
    f, ms = r["facts"].get(b), r["ms"].get(b)
    if not f or isinstance(ms, str):
        return NA
    return f"{f['traffic_bytes'] / (ms * 1e-3) / 1e9:.1f}"


def compiler_table(rows, columns):
    backends = [c for c in ("compiled-numpy", "compiled-llvm") if c in columns and any(c in r["facts"] for r in rows)]
    backends = backends or ["compiled-numpy"]
    tag = " (" + " / ".join(SHORT[b] for b in backends) + ")" if len(backends) > 1 else ""
    head = ["workload", f"kernels{tag}", "planned peak MB", "no-reuse MB", "lower bound MB",
            f"step overhead ms{tag}"] + [f"GB/s {SHORT[b]}" for b in backends] + ["copy GB/s same bytes"]
    body = []
    for r in rows:
        if not r["facts"]:
            continue
        f0 = next(iter(r["facts"].values()))
        copy = r.get("copy_gbs")
        body.append([r["workload"], _per_backend(r, "kernels", str, backends), _mb(f0["peak_bytes"]),
                     _mb(f0["no_reuse_bytes"]), _mb(f0["lower_bound_bytes"]),
                     _per_backend(r, "overhead_ms", _ms, backends)]
                    + [_gbs(r, b) if "copy_gbs" in r else "-" for b in backends]
                    + [f"{copy:.1f}" if copy is not None and not math.isnan(copy) else "-"])
    return head, body


def render(head, body, markdown=False) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in
                                                                 range(len(head))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    fmt = lambda row: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                                for i, (c, w) in enumerate(zip(row, widths)))
    return "\n".join([fmt(head), "-" * len(fmt(head))] + [fmt(r) for r in body])


def errors(rows) -> list:
    return [f"{r['workload']}: {c}: {e}" for r in rows for c, e in r["errors"].items()]
