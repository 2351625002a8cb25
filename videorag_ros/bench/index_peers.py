"""``videorag bench index --peers``: our temporal index beside plain hnswlib, FAISS HNSW and Qdrant Edge.

Every system gets the same stream of embeddings (same seed), the same ring size and the same
queries, in its own fresh process (so that resident memory is its own), one after the other in
one run. Each one:

- is filled with ``size x turnovers`` frames, oldest evicted once ``size`` are held (a ring).
  With ``--fill live`` (default) every frame goes in one by one, in time order, as a robot
  fills its memory, and every insert after the ring first filled is timed; with ``--fill bulk``
  all but the last ``--insert-samples`` go in through the system's batch API;
- answers ``--queries`` global top-10 queries (a remembered vector plus noise) and as many
  ``--window-s`` time-window queries at random positions, timed, with recall@10 against an
  exact numpy answer over the same live frames;
- reports resident memory added by the filled index (``VmRSS``), scaled to 100k entries, and
  a sweep of its search knob (beam ``ef``; for ours the knob the recall controller moves) for
  comparisons at equal recall.

How each peer does what the temporal index does (the honest way its API offers):

- **hnswlib** (``replace_deleted``): one graph of ``size`` slots; when full the oldest label is
  ``mark_deleted`` and the new vector takes its slot (``add_items(..., replace_deleted=True)``).
  Time windows are hnswlib's ``filter=`` callback on the label range.
- **FAISS** ``IndexHNSWFlat``: HNSW has no removal. Evicted ids are excluded by an
  ``IDSelectorRange`` over the live id range; when the index holds ``1.5 x size`` vectors it is
  rebuilt from the live ones (inside the insert that crosses the limit: its cost shows in the
  insert maximum and in ``rebuilds``). Time windows are the same selector over the window's ids.
- **Qdrant Edge** (``qdrant-edge-py``): one point per frame with ``stamp`` (integer payload
  index) and ``camera`` payload; the oldest point is deleted when full. Qdrant appends to an
  unindexed segment and builds its HNSW graph in ``optimize()``: called once after the fill,
  its time reported as ``deferred_build_s``. Time windows are a payload range filter.

A peer whose Python package is not importable is reported as missing, never fatal.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

S = 1_000_000_000
PEERS = ("hnswlib", "faiss", "qdrant")
_MODULES = {"ours": "videorag_ros.core.index", "hnswlib": "hnswlib", "faiss": "faiss", "qdrant": "qdrant_edge"}
_PACKAGES = {"hnswlib": "hnswlib", "faiss": "faiss-cpu", "qdrant": "qdrant-edge-py"}
Vec = npt.NDArray[np.float32]
Window = tuple[int, int, int, int]  # label range [g_lo, g_hi), stamps [since_ns, until_ns]


def missing_peers(names: list[str]) -> dict[str, str]:
    """Peers whose package cannot be imported here, with the reason (``pip install ...``)."""
    import importlib

    out: dict[str, str] = {}
    for name in names:
        try:
            importlib.import_module(_MODULES[name])
        except ImportError as err:
            out[name] = f"not importable ({err}); pip install {_PACKAGES[name]} (tools/requirements-bench.txt, bench extra)"
    return out


# --- the systems -----------------------------------------------------------------------------
class _System:
    """One index under test: the ring's live path, global and window top-k, a search knob."""

    knob = "ef"

    def add(self, g: int, v: Vec, stamp_ns: int, cam: str) -> None:
        raise NotImplementedError

    def add_bulk(self, g0: int, vecs: Vec, stamps: npt.NDArray[np.int64], cams: list[str]) -> None:
        for i in range(len(vecs)):
            self.add(g0 + i, vecs[i], int(stamps[i]), cams[i])

    def settle(self, warmup: Vec) -> dict[str, Any]:
        """Work a system does after the fill before it answers well (Qdrant's deferred build; our recall
        controller, which samples some of the ``warmup`` queries)."""
        return {}

    def search(self, q: Vec, k: int, knob: int | None = None) -> list[int]:
        raise NotImplementedError

    def window(self, q: Vec, k: int, win: Window) -> list[int]:
        """Top-k within ``win = (g_lo, g_hi, since_ns, until_ns)``: labels ``[g_lo, g_hi)``, stamps ``[since_ns, until_ns]``."""
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


class _Ours(_System):
    def __init__(self, cfg: dict[str, Any]) -> None:
        from videorag_ros.core.index import TemporalIndex

        self.idx = TemporalIndex(dim=cfg["dim"], capacity=cfg["size"], ttl_s=0)  # the shipped defaults
        self.knob = "probes"

    def add(self, g: int, v: Vec, stamp_ns: int, cam: str) -> None:
        from videorag_ros.core.index import Payload

        self.idx.add(v, Payload(cam, stamp_ns, g, "motion"))

    def add_bulk(self, g0: int, vecs: Vec, stamps: npt.NDArray[np.int64], cams: list[str]) -> None:
        from videorag_ros.core.index import Payload

        self.idx.add_many(vecs, [Payload(c, int(s), g0 + i, "motion") for i, (s, c) in enumerate(zip(stamps, cams, strict=True))])

    def settle(self, warmup: Vec) -> dict[str, Any]:
        from videorag_ros.bench.index import _controller_state

        t0 = time.perf_counter()
        for _ in range(2):  # the recall controller samples every 16th query and settles (as `videorag bench index` does)
            for q in warmup:
                self.idx.search(q, 10)
            self.idx.wait_idle(3600.0)
        sample_every, self.idx.recall_sample_every = self.idx.recall_sample_every, 0  # sampling paused while timed
        out = _controller_state(self.idx)
        out["warmup_s"] = round(time.perf_counter() - t0, 1)
        out["recall_sample_every"] = sample_every
        return out

    def search(self, q: Vec, k: int, knob: int | None = None) -> list[int]:
        if knob is None:
            return [h.payload.frame_seq for h in self.idx.search(q, k)]
        saved, self.idx.probes = self.idx.probes, knob
        try:
            return [h.payload.frame_seq for h in self.idx.search(q, k, method="runs")]
        finally:
            self.idx.probes = saved

    def window(self, q: Vec, k: int, win: Window) -> list[int]:
        _, _, since_ns, until_ns = win
        return [h.payload.frame_seq for h in self.idx.search(q, k, since_ns=since_ns, until_ns=until_ns)]

    def info(self) -> dict[str, Any]:
        st = self.idx.stats()
        plan = self.idx.last_plan
        return {"global_mode": st.global_mode, "mode_reason": st.mode_reason, "probes": st.probes, "runs": st.runs, "last_plan": plan.method if plan else None}

    def close(self) -> None:
        self.idx.close()


class _Hnswlib(_System):
    def __init__(self, cfg: dict[str, Any]) -> None:
        import hnswlib

        self.size, self.ef = cfg["size"], cfg["ef"]
        self.h = hnswlib.Index(space="ip", dim=cfg["dim"])
        self.h.init_index(max_elements=self.size, ef_construction=cfg["ef_construction"], M=cfg["m"], random_seed=100, allow_replace_deleted=True)
        self.h.set_ef(self.ef)
        self.count = 0

    def add(self, g: int, v: Vec, stamp_ns: int, cam: str) -> None:
        if self.count >= self.size:
            self.h.mark_deleted(g - self.size)
        self.h.add_items(v.reshape(1, -1), np.array([g], np.uint64), num_threads=1, replace_deleted=True)
        self.count += 1

    def add_bulk(self, g0: int, vecs: Vec, stamps: npt.NDArray[np.int64], cams: list[str]) -> None:
        n = len(vecs)
        for g in range(max(g0, self.size), g0 + n):  # room for the batch: the oldest labels go
            self.h.mark_deleted(g - self.size)
        self.h.add_items(vecs, np.arange(g0, g0 + n, dtype=np.uint64), num_threads=2, replace_deleted=True)
        self.count += n

    def search(self, q: Vec, k: int, knob: int | None = None) -> list[int]:
        if knob is not None:
            self.h.set_ef(knob)
        try:
            labels, _ = self.h.knn_query(q.reshape(1, -1), k=k, num_threads=1)
        finally:
            if knob is not None:
                self.h.set_ef(self.ef)
        return [int(x) for x in labels[0]]

    def window(self, q: Vec, k: int, win: Window) -> list[int]:
        g_lo, g_hi, _, _ = win
        kk = min(k, g_hi - g_lo)
        try:
            labels, _ = self.h.knn_query(q.reshape(1, -1), k=kk, num_threads=1, filter=lambda label: g_lo <= label < g_hi)
        except RuntimeError:  # hnswlib raises when its beam cannot collect k allowed elements
            return []
        return [int(x) for x in labels[0]]


class _Faiss(_System):
    def __init__(self, cfg: dict[str, Any]) -> None:
        import faiss

        self.faiss = faiss
        faiss.omp_set_num_threads(1)  # one query, one insert at a time, like the others; rebuilds use 2 (see _room)
        self.dim, self.size, self.ef, self.m, self.efc = cfg["dim"], cfg["size"], cfg["ef"], cfg["m"], cfg["ef_construction"]
        self.limit = self.size + self.size // 2
        self.rebuilds, self.rebuild_s = 0, 0.0
        self._new(0)

    def _new(self, first_g: int) -> None:
        f = self.faiss
        self.index = f.IndexHNSWFlat(self.dim, self.m, f.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = self.efc
        self.base_g = first_g  # faiss id i holds label base_g + i

    def _live_lo(self, g_next: int) -> int:
        return int(max(self.base_g, g_next - self.size))

    def add(self, g: int, v: Vec, stamp_ns: int, cam: str) -> None:
        self._room(g, 1)
        self.index.add(v.reshape(1, -1))

    def add_bulk(self, g0: int, vecs: Vec, stamps: npt.NDArray[np.int64], cams: list[str]) -> None:
        self._room(g0, len(vecs))
        self.index.add(vecs)

    def _room(self, g: int, n: int) -> None:
        """Rebuild from the live vectors when the index would pass 1.5 x size (HNSW cannot delete)."""
        if self.index.ntotal + n <= self.limit:
            return
        t0 = time.perf_counter()
        f = self.faiss
        lo = max(self.base_g, g + n - self.size)  # labels still live once the new ones are in
        storage = f.downcast_index(self.index.storage)
        xb = f.rev_swig_ptr(storage.get_xb(), self.index.ntotal * self.dim).reshape(self.index.ntotal, self.dim)
        live = np.array(xb[lo - self.base_g :], copy=True)
        self._new(lo)
        f.omp_set_num_threads(2)
        try:
            self.index.add(live)
        finally:
            f.omp_set_num_threads(1)
        self.rebuilds += 1
        self.rebuild_s += time.perf_counter() - t0

    def _params(self, lo: int, hi: int, ef: int) -> Any:
        f = self.faiss
        sel = f.IDSelectorRange(max(0, lo - self.base_g), max(0, hi - self.base_g))
        return f.SearchParametersHNSW(sel=sel, efSearch=ef)

    def search(self, q: Vec, k: int, knob: int | None = None) -> list[int]:
        g_next = self.base_g + self.index.ntotal
        params = self._params(self._live_lo(g_next), g_next, knob or self.ef)
        _, ids = self.index.search(q.reshape(1, -1), k, params=params)
        return [int(i) + self.base_g for i in ids[0] if i >= 0]

    def window(self, q: Vec, k: int, win: Window) -> list[int]:
        g_lo, g_hi, _, _ = win
        g_next = self.base_g + self.index.ntotal
        params = self._params(max(g_lo, self._live_lo(g_next)), min(g_hi, g_next), self.ef)
        _, ids = self.index.search(q.reshape(1, -1), k, params=params)
        return [int(i) + self.base_g for i in ids[0] if i >= 0]

    def info(self) -> dict[str, Any]:
        return {"rebuilds": self.rebuilds, "rebuild_s": round(self.rebuild_s, 1), "ntotal": int(self.index.ntotal)}


class _Qdrant(_System):
    def __init__(self, cfg: dict[str, Any]) -> None:
        import qdrant_edge as qe

        self.qe, self.size, self.ef = qe, cfg["size"], cfg["ef"]
        self.dir = tempfile.mkdtemp(prefix="videorag-bench-qdrant-")
        config = qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=cfg["dim"], distance=qe.Distance.Dot),
            hnsw_config=qe.HnswIndexConfig(m=cfg["m"], ef_construct=cfg["ef_construction"], full_scan_threshold=10_000),
            wal_enabled=False,
        )
        self.shard = qe.EdgeShard.create(os.path.join(self.dir, "shard"), config)
        self.shard.update(qe.UpdateOperation.create_field_index("stamp", qe.PayloadSchemaType.Integer))
        self.count = 0
        self.build_s = 0.0

    def add(self, g: int, v: Vec, stamp_ns: int, cam: str) -> None:
        qe = self.qe
        if self.count >= self.size:
            self.shard.update(qe.UpdateOperation.delete_points([g - self.size]))
        self.shard.update(qe.UpdateOperation.upsert_points([qe.Point(g, v.tolist(), {"stamp": stamp_ns, "camera": cam})]))
        self.count += 1

    def add_bulk(self, g0: int, vecs: Vec, stamps: npt.NDArray[np.int64], cams: list[str]) -> None:
        qe = self.qe
        n = len(vecs)
        old = [g - self.size for g in range(max(g0, self.size), g0 + n)]
        if old:
            self.shard.update(qe.UpdateOperation.delete_points(old))
        pts = [qe.Point(g0 + i, vecs[i].tolist(), {"stamp": int(stamps[i]), "camera": cams[i]}) for i in range(n)]
        self.shard.update(qe.UpdateOperation.upsert_points(pts))
        self.count += n

    def settle(self, warmup: Vec) -> dict[str, Any]:
        t0 = time.perf_counter()
        self.shard.optimize()
        self.build_s = time.perf_counter() - t0
        info = self.shard.info()
        return {"deferred_build_s": round(self.build_s, 1), "segments": info.segments_count, "indexed_vectors": info.indexed_vectors_count}

    def _query(self, q: Vec, k: int, ef: int, flt: Any = None) -> list[int]:
        qe = self.qe
        req = qe.SearchRequest(query=qe.Query.Nearest(q.tolist()), limit=k, filter=flt, params=qe.SearchParams(hnsw_ef=ef))
        return [int(p.id) for p in self.shard.search(req)]

    def search(self, q: Vec, k: int, knob: int | None = None) -> list[int]:
        return self._query(q, k, knob or self.ef)

    def window(self, q: Vec, k: int, win: Window) -> list[int]:
        _, _, since_ns, until_ns = win
        qe = self.qe
        flt = qe.Filter(must=[qe.FieldCondition(key="stamp", range=qe.RangeFloat(gte=float(since_ns), lte=float(until_ns)))])
        return self._query(q, k, self.ef, flt)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.shard.close()
        shutil.rmtree(self.dir, ignore_errors=True)


_SYSTEMS: dict[str, Callable[[dict[str, Any]], _System]] = {"ours": _Ours, "hnswlib": _Hnswlib, "faiss": _Faiss, "qdrant": _Qdrant}


# --- one system, in its own process ------------------------------------------------------------
def _rss(field: str = "VmRSS") -> int:
    from videorag_ros.bench.index import _rss_bytes

    return _rss_bytes(field)


def _progress(msg: str) -> None:
    if sys.stderr.isatty():
        print(msg, file=sys.stderr, end="\r", flush=True)


def run_system(name: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Fill one system with the workload, then time its queries; runs in a fresh process.

    Args:
        name: ``ours``, ``hnswlib``, ``faiss`` or ``qdrant``.
        cfg: The workload and system settings (see ``_main_peers`` in bench/index.py).

    Returns:
        Insert, query and window percentiles (ms), recall@10, memory, the knob sweep and notes.
    """
    from videorag_ros.bench.index import _pct, _reset_peak_rss, _Stream

    size, dim, cams = cfg["size"], cfg["dim"], cfg["cameras"]
    total = size * cfg["turnovers"]
    frame_ns = S // (cfg["fps"] * cams)
    stream = _Stream(cfg["data"], dim, cfg["seed"], step=cfg["step"], cut_every=cfg["cut_every"])
    truth = np.ones((size, dim), np.float32)  # every live vector, for exact answers (touched now: not the system's memory)
    _reset_peak_rss()
    rss0 = _rss()
    system = _SYSTEMS[name](cfg)
    bulk_end = 0 if cfg["fill"] == "live" else max(0, total - cfg["insert_samples"])
    insert_ms: list[float] = []
    t0 = time.perf_counter()
    g = 0
    while g < total:
        n = min(4096, total - g)
        vecs = stream.take(n)
        stamps = np.arange(g, g + n, dtype=np.int64) * frame_ns
        labels = [f"cam{x % cams}" for x in range(g, g + n)]
        for i in range(n):
            truth[(g + i) % size] = vecs[i]
        if g + n <= bulk_end:
            system.add_bulk(g, vecs, stamps, labels)
        else:
            for i in range(n):
                t1 = time.perf_counter()
                system.add(g + i, vecs[i], int(stamps[i]), labels[i])
                if g + i >= max(size, bulk_end):  # the ring is full: every insert evicts
                    insert_ms.append((time.perf_counter() - t1) * 1e3)
        g += n
        _progress(f"  [{name}] {g}/{total} inserts ({time.perf_counter() - t0:.0f} s)")
    fill_s = time.perf_counter() - t0
    rss_fill = _rss() - rss0
    first = total - size
    qrng = np.random.default_rng(cfg["seed"] + 1)
    picks = qrng.integers(0, size, cfg["queries"])
    noise = qrng.standard_normal((cfg["queries"], dim)).astype(np.float32) * np.float32(cfg["query_noise"] / math.sqrt(dim))
    queries = truth[picks] + noise
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    t1 = time.perf_counter()
    settled = system.settle(queries)
    settle_s = time.perf_counter() - t1
    rss_settled = _rss() - rss0
    rss_peak = _rss("VmHWM") - rss0

    def g_of(slots: npt.NDArray[np.intp]) -> list[int]:
        return [first + (int(s) - first) % size for s in slots]

    def exact(q: Vec, lo: int, hi: int) -> set[int]:
        gs = np.arange(lo, hi)
        sc = truth[gs % size] @ q
        kk = min(10, len(gs))
        return {int(x) for x in gs[np.argsort(-sc, kind="stable")[:kk]]} if kk else set()

    def timed(fn: Callable[[int], list[int]], truths: list[set[int]]) -> tuple[dict[str, float], float]:
        ms, rec = [], []
        for i, ex in enumerate(truths):
            t2 = time.perf_counter()
            got = fn(i)
            ms.append((time.perf_counter() - t2) * 1e3)
            rec.append(len(ex & set(got)) / max(1, len(ex)))
        return _pct(ms), round(float(np.mean(rec)), 4)

    for q in queries[: min(20, len(queries))]:  # warm caches alike for every system
        system.search(q, 10)
    g_truth = [{x for x in g_of(np.argsort(-(truth @ q), kind="stable")[:10])} for q in queries]
    res: dict[str, Any] = {"system": name, "size": size, "inserts": total, "fill": cfg["fill"], "fill_s": round(fill_s, 1)}
    res["insert_ms"] = _pct(insert_ms) if insert_ms else {}
    res["global_ms"], res["global_recall"] = timed(lambda i: system.search(queries[i], 10), g_truth)
    w_ns = int(cfg["window_s"] * S)
    span_ns = (size - 1) * frame_ns
    starts = first * frame_ns + qrng.integers(0, max(1, span_ns - w_ns), cfg["queries"])
    wins = []
    for s0 in starts.tolist():
        lo, hi = -(-s0 // frame_ns), (s0 + w_ns) // frame_ns + 1
        wins.append((max(lo, first), min(hi, total), s0, s0 + w_ns))
    w_truth = [exact(queries[i], lo, hi) for i, (lo, hi, _, _) in enumerate(wins)]
    res["window_ms"], res["window_recall"] = timed(lambda i: system.window(queries[i], 10, wins[i]), w_truth)
    sweep = []
    for knob in cfg["ours_sweep"] if name == "ours" else cfg["sweep"]:
        pc, rc = timed(lambda i, knob=knob: system.search(queries[i], 10, knob=knob), g_truth)  # type: ignore[misc]
        sweep.append({system.knob: knob, "recall": rc, "p50_ms": pc["p50"], "p99_ms": pc["p99"]})
        _progress(f"  [{name}] sweep {system.knob}={knob}: recall {rc:.3f}        ")
    res["sweep_knob"], res["sweep"] = system.knob, sweep
    res["settle"] = settled
    res["settle_s"] = round(settle_s, 1)
    res["info"] = system.info()
    scale = 100_000 / size
    res["rss_mib_per_100k"] = round(rss_fill / 2**20 * scale, 1)
    res["rss_settled_mib_per_100k"] = round(rss_settled / 2**20 * scale, 1)
    res["rss_peak_mib_per_100k"] = round(rss_peak / 2**20 * scale, 1)
    system.close()
    return res


@contextlib.contextmanager
def _child_threads(n: int) -> Iterator[None]:
    """Environment for the children: ``n`` BLAS / OpenMP threads (read when numpy and faiss load)."""
    keys = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict.fromkeys(keys, str(n)))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_all(names: list[str], cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Run each system in its own fresh process, one after the other (no two compete for the CPU).

    Every child gets ``cfg["blas_threads"]`` BLAS / OpenMP threads. The peers answer one query on
    one thread; numpy's OpenBLAS would otherwise split each of our matrix-vector products over
    both cores, which on a busy 2-core machine waits for the second core (measured here at 20k
    x 512: p90 12-16 ms with 2 threads, 0.4 ms with 1, same p50).
    """
    ctx = multiprocessing.get_context("spawn")
    out = []
    for name in names:
        print(f"  [{name}] {cfg['data']} x {cfg['size']} x {cfg['dim']}, {cfg['turnovers']} turnovers ({cfg['fill']} fill)...", file=sys.stderr, flush=True)
        with _child_threads(cfg["blas_threads"]), ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            res = pool.submit(run_system, name, cfg).result()
        if sys.stderr.isatty():
            print(file=sys.stderr)
        out.append(res)
    return out


def equal_recall(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any] | None:
    """The peer's cheapest swept setting (by p99) whose recall reaches ours; when none does, its cheapest within 0.001 of its best recall."""
    if not peer.get("sweep"):
        return None
    target = ours["global_recall"]
    reach = [s for s in peer["sweep"] if s["recall"] >= target - 1e-9]
    if not reach:
        best = max(s["recall"] for s in peer["sweep"])
        near = [s for s in peer["sweep"] if s["recall"] >= best - 0.001]
    pick = min(reach or near, key=lambda s: s["p99_ms"])
    g = ours["global_ms"]

    def ratio(a: float, b: float) -> float:
        return round(a / b, 2) if b > 0 else float("inf")

    return {
        "peer": peer["system"], "setting": pick, "reaches": bool(reach), "ours_p50_ms": g["p50"], "ours_p99_ms": g["p99"],
        "p50_ratio": ratio(g["p50"], pick["p50_ms"]), "p99_ratio": ratio(g["p99"], pick["p99_ms"]),
    }  # fmt: skip


def table(results: list[dict[str, Any]]) -> str:
    """The --peers table: one row per system."""
    head = (
        f"{'system':<8} {'ins p50':>8} {'ins p99':>8} {'ins max':>8} {'glob p50':>8} {'glob p99':>8} {'recall':>6} "
        f"{'win p50':>8} {'win p99':>8} {'w.recall':>8} {'MiB/100k':>8} {'peak':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        ins = r["insert_ms"] or {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
        lines.append(
            f"{r['system']:<8} {ins['p50']:>8.3f} {ins['p99']:>8.3f} {ins['max']:>8.1f} {r['global_ms']['p50']:>8.3f} {r['global_ms']['p99']:>8.3f} "
            f"{r['global_recall']:>6.3f} {r['window_ms']['p50']:>8.3f} {r['window_ms']['p99']:>8.3f} {r['window_recall']:>8.3f} "
            f"{r['rss_settled_mib_per_100k']:>8.0f} {r['rss_peak_mib_per_100k']:>6.0f}"
        )
    lines.append(
        "(times ms; recall@10 against exact search; windows are --window-s time windows; "
        "MiB/100k = resident memory the filled index adds, 'peak' = VmHWM)"
    )
    return "\n".join(lines)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The options only ``--peers`` uses."""
    ap.add_argument("--fill", choices=("live", "bulk"), default="live", help="--peers: one insert per frame in time order (live) or batches")
    ap.add_argument("--peer-sweep", default="16,32,64,128,256,512", help="--peers: the peers' beams (ef) swept for equal-recall comparisons")
    ap.add_argument("--ours-sweep", default="4,8,16,32,64,128", help="--peers: our probe counts swept likewise")
    ap.add_argument("--peer-m", type=int, default=16, help="--peers: HNSW degree M of the peers")
    ap.add_argument("--peer-ef", type=int, default=64, help="--peers: the peers' default search beam")
    ap.add_argument("--peer-ef-construction", type=int, default=200, help="--peers: the peers' HNSW build beam")
    ap.add_argument("--blas-threads", type=int, default=1, help="--peers: BLAS / OpenMP threads of every system's process (one query, one core)")
