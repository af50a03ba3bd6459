"""Two scoring runs on one cache split the architectures: none is scored twice."""

import multiprocessing as mp

import pyarrow as pa

from hwpred.spaces import NB201
from hwpred.zeroshot.score_cache import cache_stores
from hwpred.zeroshot.scoring import score_archs


def _score(cache: str, archs: list) -> None:
    score_archs(
        "nb201", archs, scores=["naswot"], batch_size=16, cache_dir=cache, progress=False, checkpoint_every=3
    )


def test_two_runs_on_one_cache_score_each_arch_once(tmp_path):
    archs = [tuple(a) for a in NB201.random(24, 5)]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_score, args=(str(tmp_path), archs)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    (store,) = cache_stores(tmp_path)
    tables = store.read_parts()
    scored = pa.concat_tables(tables).column("arch").to_pylist()
    assert sorted(scored) == sorted(set(scored)) and len(scored) == 24  # each architecture in one part only
    again = score_archs(
        "nb201", archs, scores=["naswot"], batch_size=16, cache_dir=tmp_path, progress=False, cached_only=True
    )
    assert len(again.archs) == 24
