"""Measurement harness: timer statistics, adaptive stopping, resume, failures, metadata, energy."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
from torch import nn

from hwpred.data.table import MetricTable
from hwpred.errors import HwpredError
from hwpred.measure import (
    MeasureConfig,
    MeasureError,
    RepeatPolicy,
    TimingStats,
    load_model_spec,
    measure_model,
    measure_space,
    median_ci,
    select_archs,
)
from hwpred.measure import energy as energy_mod
from hwpred.measure.journal import journal_path
from hwpred.measure.schedule import schedule
from hwpred.measure.timers import CPUTimer, collect, make_timer, relative_ci_halfwidth
from hwpred.spaces import NB201, read_archs_file

FAST = RepeatPolicy(repeats=2, warmup=0)


class Sleeper(nn.Module):
    """A model of known cost: sleeps ``ms`` per forward (and uses next to no CPU)."""

    def __init__(self, ms: float):
        super().__init__()
        self.ms = ms

    def forward(self, x):
        time.sleep(self.ms / 1000)
        return x


class Tiny(nn.Module):
    """A cheap stand-in for a space's network whose cost grows with the op indices."""

    def __init__(self, arch):
        super().__init__()
        self.conv = nn.Conv2d(3, 1 + sum(arch), 3, padding=1)

    def forward(self, x):
        return self.conv(x)


def tiny_build(arch):
    return Tiny(arch)


# -- statistics -----------------------------------------------------------------------------------
def test_median_ci_order_statistics():
    x = np.arange(1, 21, dtype=float)[::-1]  # unsorted on purpose
    # n = 20 at 95 %: P(B <= 5) = 0.0207 <= 0.025 < P(B <= 6), so [x_(6), x_(15)]
    assert median_ci(x, 0.95) == (6.0, 15.0)
    assert median_ci(np.arange(5.0), 0.95) is None  # 2/32 > 5 %: no 95 % interval from 5 samples
    assert median_ci(np.arange(6.0), 0.95) == (0.0, 5.0)
    assert relative_ci_halfwidth(np.arange(5.0)) == float("inf")
    assert relative_ci_halfwidth(np.full(30, 2.0)) == 0.0


def test_timing_stats_from_known_samples():
    s = TimingStats.from_samples([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s.median_ms == 3.0 and s.min_ms == 1.0 and s.n == 5
    assert s.iqr_ms == pytest.approx(2.0)  # numpy linear percentiles: 4 - 2
    assert s.mean_ms == pytest.approx(22.0)
    assert s.std_ms == pytest.approx(np.std([1, 2, 3, 4, 100], ddof=1))
    back = TimingStats.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s


def test_cpu_timer_on_a_model_of_known_cost():
    timer = CPUTimer(RepeatPolicy(repeats=8, warmup=1), threads=1)
    st = timer.measure(Sleeper(5.0), torch.zeros(1))
    assert st.n == 8
    assert st.min_ms >= 5.0  # never faster than the sleep
    assert st.median_ms < 5.0 + 25.0  # generous: the CI machine is shared
    assert st.iqr_ms >= 0 and st.std_ms >= 0
    # sleeping uses (almost) no CPU: the thread CPU-time clock must see far less than the wall clock
    assert st.cpu_median_ms is not None and st.cpu_median_ms < 0.5 * st.median_ms
    assert torch.get_num_threads() == 1


def test_cpu_clock_option_makes_cpu_time_primary():
    st = CPUTimer(RepeatPolicy(repeats=6, warmup=0), threads=1, clock="cpu").measure(
        Sleeper(3.0), torch.zeros(1)
    )
    assert st.median_ms < 1.5  # CPU time of a sleep, not its 3 ms wall time
    with pytest.raises(Exception, match="threads=1"):
        CPUTimer(threads=2, clock="cpu")


class _ScriptedCost(nn.Module):
    """Advances a fake clock by the next cost in its script (ms) on every forward."""

    def __init__(self, clock: list, costs):
        super().__init__()
        self.clock, self.costs = clock, iter(costs)

    def forward(self, x):
        self.clock[0] += int(next(self.costs) * 1e6)
        return x


def test_paired_statistics_from_scripted_forward_times(monkeypatch):
    clock = [0]
    monkeypatch.setattr(time, "perf_counter_ns", lambda: clock[0])
    rng = np.random.default_rng(3)
    cell = np.r_[[10.0], 10.0 + rng.exponential(3.0, 40)]  # warm-up forward, then 40 timed ones
    ref = np.r_[[2.0], 2.0 + rng.exponential(0.5, 40)]
    timer = CPUTimer(RepeatPolicy(repeats=40, warmup=1), threads=1)
    st = timer.measure(_ScriptedCost(clock, cell), torch.zeros(1), reference=_ScriptedCost(clock, ref))
    c, r = cell[1:], ref[1:]
    assert st.n == 40 and st.median_ms == pytest.approx(np.median(c))
    assert st.ratio_median == pytest.approx(np.median(c / r))
    assert st.ratio_q10 == pytest.approx(np.quantile(c, 0.1) / np.quantile(r, 0.1))
    assert st.ref_median_ms == pytest.approx(np.median(r))
    assert timer.last_samples["wall_ms"] == pytest.approx(c) and timer.last_samples[
        "ref_wall_ms"
    ] == pytest.approx(r)


def test_paired_reference_ratio():
    timer = CPUTimer(RepeatPolicy(repeats=6, warmup=0), threads=1)
    st = timer.measure(Sleeper(8.0), torch.zeros(1), reference=Sleeper(2.0))
    # ~8 ms / ~2 ms; wide bounds because sleep wake-ups are late by varying amounts on a busy machine
    assert st.ratio_median is not None and 1.5 < st.ratio_median < 8.0
    assert st.ref_median_ms >= 2.0 and st.min_ms >= 8.0 and st.n == 6
    assert st.ratio_q10 is not None and 1.5 < st.ratio_q10 < 8.0
    res = measure_space(
        _cfg(paired_reference=True, two_pass=True), limit=3, progress=False, build_fn=tiny_build
    )
    assert {
        "cpu-t1-b1/rel_latency",
        "cpu-t1-b1/rel_latency_pass2",
        "cpu-t1-b1/rel_latency_q10",
        "cpu-t1-b1/rel_latency_q10_pass2",
    } <= set(res.table.columns)
    assert res.table.meta["measure"]["protocol"]["paired_reference"] is True
    with pytest.raises(MeasureError, match="CPU option"):
        MeasureConfig(device="cuda", paired_reference=True).resolved()


def test_adaptive_stops_when_precise_and_caps_when_noisy():
    policy = RepeatPolicy(repeats=6, warmup=0, adaptive=True, target_rel_ci=0.05, max_repeats=60, step=3)
    calls = []

    def constant(k):
        calls.append(k)
        return [10.0 + 0.01 * i for i in range(k)]

    assert len(collect(constant, policy)) == 6 and calls == [6]  # precise after the minimum

    rng = np.random.default_rng(0)
    noisy = collect(lambda k: list(rng.lognormal(0.0, 1.5, size=k)), policy)
    assert len(noisy) == 60  # never precise enough: stops at the maximum

    # in between: keeps adding steps until the CI is narrow enough, then stops before the maximum
    rng = np.random.default_rng(1)
    mid = collect(lambda k: list(rng.normal(10.0, 0.5, size=k)), policy)
    assert 6 < len(mid) < 60
    assert relative_ci_halfwidth(mid) <= 0.05
    assert relative_ci_halfwidth(mid[:-3]) > 0.05  # it did not run a step longer than needed


def test_adaptive_time_cap_with_real_timer():
    policy = RepeatPolicy(
        repeats=6, warmup=0, adaptive=True, target_rel_ci=1e-9, max_repeats=10_000, max_time_s=0.15, step=2
    )
    t = time.perf_counter()
    st = CPUTimer(policy).measure(Sleeper(2.0), torch.zeros(1))
    assert 6 <= st.n < 10_000
    assert time.perf_counter() - t < 5.0


def test_repeat_policy_validation():
    with pytest.raises(Exception, match="repeats"):
        RepeatPolicy(repeats=0)
    with pytest.raises(Exception, match="max repeats"):
        RepeatPolicy(repeats=10, adaptive=True, max_repeats=5)


# -- protocol -----------------------------------------------------------------------------------------
def test_schedule_is_shuffled_and_two_pass_interleaved():
    archs = select_archs("nb201", limit=40, seed=3)
    one = schedule(archs, two_pass=False, seed=3)
    assert sorted(a for a, _ in one) == sorted(archs) and [a for a, _ in one] != archs
    two = schedule(archs, two_pass=True, seed=3)
    assert [p for _, p in two[:6]] == [0, 1, 0, 1, 0, 1]
    assert sorted(a for a, p in two if p == 0) == sorted(archs) == sorted(a for a, p in two if p == 1)
    assert [a for a, p in two if p == 0] != [a for a, p in two if p == 1]  # independent orders


def test_limit_subsets_are_nested():
    small, large = select_archs("nb201", limit=5, seed=0), select_archs("nb201", limit=9, seed=0)
    assert set(small) <= set(large) and len(large) == 9


def test_archs_file(tmp_path):
    f = tmp_path / "archs.txt"
    f.write_text(
        "# my cells\n3,1,2,4,3,1\n(0, 0, 0, 0, 0, 0)\n" + NB201.to_string((1, 1, 1, 1, 1, 1)) + "\n\n"
    )
    assert read_archs_file(f, NB201) == [(3, 1, 2, 4, 3, 1), (0,) * 6, (1,) * 6]
    f.write_text("3,1,2,4,3,1\n3,1,9\n")
    with pytest.raises(HwpredError, match=r"archs.txt:2"):
        read_archs_file(f, NB201)
    f.write_text("3,1,2,4,3,1\n# again\n" + NB201.to_string((3, 1, 2, 4, 3, 1)) + "\n")
    with pytest.raises(HwpredError, match=r"archs.txt:3: repeats the architecture of line 1"):
        read_archs_file(f, NB201)


def test_limit_beyond_the_space_is_an_error():
    with pytest.raises(MeasureError, match="more than the 15625 architectures"):
        select_archs("nb201", limit=99999)


# -- harness runs --------------------------------------------------------------------------------------
def _cfg(**kw):
    base = dict(space="nb201", policy=FAST, reference_every=3, energy=False)
    base.update(kw)
    return MeasureConfig(**base)


def test_run_writes_table_with_metadata_round_trip(tmp_path):
    out = tmp_path / "t.parquet"
    res = measure_space(_cfg(two_pass=True), limit=6, out=out, progress=False, build_fn=tiny_build)
    assert res.complete and res.measured_now == 12
    t = MetricTable.read_parquet(out)
    tag = "cpu-t1-b1"
    assert len(t) == 6 and t.column_names[0] == f"{tag}/latency_ms"
    for c in (
        "latency_iqr_ms",
        "latency_std_ms",
        "latency_mean_ms",
        "latency_min_ms",
        "n_repeats",
        "latency_pass2_ms",
        "n_repeats_pass2",
        "cpu_time_ms",
        "cpu_time_pass2_ms",
    ):
        assert f"{tag}/{c}" in t.columns
    assert np.all(t.column(f"{tag}/n_repeats") == 2)
    assert t.units[f"{tag}/latency_ms"] == "ms"
    dev = t.meta["device"]
    for k in ("cpu_model", "cpu_logical", "threads", "torch", "batch_size", "input_size", "date"):
        assert k in dev
    assert dev["threads"] == 1 and dev["batch_size"] == 1 and dev["input_size"] == 32
    assert dev["torch"] == torch.__version__
    ref = t.meta["reference"]
    assert ref["arch"] == NB201.to_string((3, 1, 2, 4, 3, 1))
    assert len(ref["series"]) >= 3 and "drift_rel" in ref  # start, every 3 jobs, end
    assert t.meta["failed"] == [] and t.meta["measure"]["complete"] is True
    assert t.meta["measure"]["protocol"]["two_pass"] is True
    # the table's values are the journal's
    recs = [json.loads(line) for line in journal_path(tmp_path / "t.parquet").read_text().splitlines()]
    first = next(r for r in recs if r["kind"] == "result" and r["pass"] == 0)
    assert t.lookup(f"{tag}/latency_ms", [tuple(first["arch"])])[0] == first["stats"]["median_ms"]


class Crash(BaseException):
    """Stands for the process being killed mid-run (not an Exception: the harness must not catch it)."""


REF = (3, 1, 2, 4, 3, 1)  # the nb201 reference cell


def crashing_after(n: int, built: list):
    """A build function that records the archs it builds (not the reference) and crashes at build n + 1."""

    def build(arch):
        if tuple(arch) != REF:
            if len(built) == n:
                raise Crash()
            built.append(tuple(arch))
        return Tiny(arch)

    return build


def test_resume_after_interruption_measures_only_what_is_missing(tmp_path):
    out = tmp_path / "r.parquet"
    ref = REF
    built: list = []
    crashing = crashing_after(4, built)

    with pytest.raises(Crash):
        measure_space(_cfg(), limit=10, out=out, progress=False, build_fn=crashing)
    journal = journal_path(tmp_path / "r.parquet")
    assert journal.exists() and not out.exists()
    with open(journal, "a") as fh:  # a torn line, as a crash mid-write leaves it
        fh.write('{"kind": "result", "arch": [1, 2')
    with pytest.raises(MeasureError, match="resume=True"):
        measure_space(_cfg(), limit=10, out=out, progress=False, build_fn=tiny_build)

    second: list = []

    def counting(arch):
        if tuple(arch) != ref:
            second.append(tuple(arch))
        return Tiny(arch)

    res = measure_space(_cfg(), limit=10, out=out, resume=True, progress=False, build_fn=counting)
    assert res.complete and len(res.table) == 10
    assert len(second) == 6 and not set(second) & set(built)  # only the missing six
    assert res.table.meta["measure"]["sessions"] == 2
    # a larger --limit on resume extends the same table (nested subsets)
    third: list = []
    res = measure_space(
        _cfg(), limit=12, out=out, resume=True, progress=False, build_fn=lambda a: third.append(a) or Tiny(a)
    )
    assert len(res.table) == 12 and len([a for a in third if tuple(a) != ref]) == 2


def test_kill_writes_partial_table(tmp_path):
    """``kill PID`` (SIGTERM) of a background run stops it like Ctrl-C: journal closed, partial table written."""
    import os
    import signal

    out = tmp_path / "k.parquet"
    n = []

    def killed(arch):
        if tuple(arch) != (3, 1, 2, 4, 3, 1):
            n.append(arch)
            if len(n) == 4:
                os.kill(os.getpid(), signal.SIGTERM)
        return Tiny(arch)

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        measure_space(_cfg(), limit=8, out=out, progress=False, build_fn=killed)
    assert signal.getsignal(signal.SIGTERM) is before  # handler restored
    t = MetricTable.read_parquet(out)
    assert len(t) == 3 and t.meta["measure"]["complete"] is False
    res = measure_space(_cfg(), limit=8, out=out, resume=True, progress=False, build_fn=tiny_build)
    assert res.complete and len(res.table) == 8 and res.measured_now == 5


def test_resume_rebuilds_from_table_without_journal(tmp_path):
    out = tmp_path / "j.parquet"
    measure_space(_cfg(two_pass=True), limit=4, out=out, progress=False, build_fn=tiny_build)
    before = MetricTable.read_parquet(out)
    journal_path(tmp_path / "j.parquet").unlink()
    calls: list = []
    res = measure_space(
        _cfg(two_pass=True),
        limit=5,
        out=out,
        resume=True,
        progress=False,
        build_fn=lambda a: calls.append(a) or Tiny(a),
    )
    assert len(res.table) == 5
    assert len([a for a in calls if tuple(a) != (3, 1, 2, 4, 3, 1)]) == 2  # one new arch, two passes
    col = "cpu-t1-b1/latency_ms"
    assert np.array_equal(res.table.lookup(col, before.arch_tuples), before.column(col))


def test_failures_are_recorded_and_the_run_continues(tmp_path):
    out = tmp_path / "f.parquet"
    archs = select_archs("nb201", limit=6, seed=0)
    bad = archs[2]

    def flaky(arch):
        if tuple(arch) == bad:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return Tiny(arch)

    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("shape mismatch in forward")

    bad2 = archs[4]
    res = measure_space(
        _cfg(),
        archs=archs,
        out=out,
        progress=False,
        build_fn=lambda a: Broken() if tuple(a) == bad2 else flaky(a),
    )
    t = MetricTable.read_parquet(out)
    assert len(t) == 4 and res.complete and res.failed_now == 2
    failed = {f["arch"]: f["error"] for f in t.meta["failed"]}
    assert failed[NB201.to_string(bad)].startswith("RuntimeError: CUDA out of memory")
    assert "shape mismatch" in failed[NB201.to_string(bad2)]
    # resume does not retry recorded failures
    again = measure_space(_cfg(), archs=archs, out=out, resume=True, progress=False, build_fn=flaky)
    assert again.measured_now == 0 and len(again.table.meta["failed"]) == 2


def test_output_of_another_table_and_protocol_mismatch(tmp_path):
    other = tmp_path / "other.parquet"
    MetricTable(
        "nb201", np.array([[0, 0, 0, 0, 0, 0]]), {"x": np.array([1.0])}, {"source": "import"}
    ).to_parquet(other)
    with pytest.raises(MeasureError, match="another table"):
        measure_space(_cfg(), limit=2, out=other, resume=True, progress=False, build_fn=tiny_build)
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(MeasureError, match="not a measurement table"):
        measure_space(_cfg(), limit=2, out=junk, progress=False, build_fn=tiny_build)
    out = tmp_path / "p.parquet"
    measure_space(_cfg(), limit=2, out=out, progress=False, build_fn=tiny_build)
    with pytest.raises(MeasureError, match="already exists"):
        measure_space(_cfg(), limit=2, out=out, progress=False, build_fn=tiny_build)
    with pytest.raises(MeasureError, match="another protocol"):
        measure_space(
            _cfg(policy=RepeatPolicy(repeats=3, warmup=0)),
            limit=2,
            out=out,
            resume=True,
            progress=False,
            build_fn=tiny_build,
        )
    res = measure_space(
        _cfg(policy=RepeatPolicy(repeats=3, warmup=0)),
        limit=2,
        out=out,
        overwrite=True,
        progress=False,
        build_fn=tiny_build,
    )
    assert np.all(res.table.column("cpu-t1-b1/n_repeats") == 3)


def test_bad_inputs(tmp_path):
    with pytest.raises(MeasureError, match="unknown search space"):
        MeasureConfig(space="nb301").resolved()
    with pytest.raises(MeasureError, match="unknown device"):
        MeasureConfig(device="tpu").resolved()
    with pytest.raises(MeasureError, match="batch size"):
        MeasureConfig(batch_size=0).resolved()
    if not torch.cuda.is_available():
        with pytest.raises(MeasureError, match="CUDA"):
            make_timer("cuda")
    with pytest.raises(MeasureError, match="cannot import"):
        load_model_spec("no_such_pkg_hwpred.models:net")
    with pytest.raises(MeasureError, match="module:function"):
        load_model_spec("torch")
    with pytest.raises(MeasureError, match="no callable"):
        load_model_spec("torch.nn:no_such_builder")
    with pytest.raises(MeasureError, match="not a torch.nn.Module"):
        load_model_spec("os:getcwd")
    f = tmp_path / "mine.py"
    f.write_text(
        "import torch\ndef net():\n    return torch.nn.Conv2d(3, 4, 3)\ndef boom():\n    raise ValueError('no')\n"
    )
    assert isinstance(load_model_spec(f"{f}:net"), nn.Conv2d)
    with pytest.raises(MeasureError, match="failed"):
        load_model_spec(f"{f}:boom")


def test_measure_model_reports_stats():
    res = measure_model(Sleeper(1.0), (4,), policy=RepeatPolicy(repeats=6, warmup=1), passes=2, energy=False)
    assert len(res["passes"]) == 2 and all(p["min_ms"] >= 1.0 and p["n"] == 6 for p in res["passes"])
    assert res["device"]["threads"] == 1 and "error" not in res


# -- energy -------------------------------------------------------------------------------------------
def test_rapl_counter_reads_and_handles_wraparound(tmp_path):
    pkg = tmp_path / "intel-rapl:0"
    sub = tmp_path / "intel-rapl:0:0"  # a sub-zone, already counted by its package
    for d, v in ((pkg, 1_000_000), (sub, 5)):
        d.mkdir()
        (d / "energy_uj").write_text(str(v))
        (d / "max_energy_range_uj").write_text("2000000")
        (d / "name").write_text("package-0")
    c = energy_mod.open_energy_counter("cpu", powercap_root=tmp_path)
    assert isinstance(c, energy_mod.RaplCounter) and c.domains == [pkg]
    (pkg / "energy_uj").write_text("1500000")
    assert c.read_mj() == pytest.approx(500.0)
    (pkg / "energy_uj").write_text("100000")  # wrapped at 2,000,000 uJ
    assert c.read_mj() == pytest.approx(500.0 + 600.0)
    assert energy_mod.energy_status("cpu", tmp_path)["available"] is True


def test_absent_energy_counter_is_reported_once(tmp_path, caplog):
    energy_mod._REPORTED.discard("rapl")
    with caplog.at_level("INFO", logger="hwpred.measure.energy"):
        assert energy_mod.open_energy_counter("cpu", powercap_root=tmp_path / "none") is None
        assert energy_mod.open_energy_counter("cpu", powercap_root=tmp_path / "none") is None
    assert caplog.text.count("CPU energy not measured") == 1
    assert energy_mod.energy_status("cpu", tmp_path / "none")["available"] is False


def test_energy_column_when_a_counter_exists(tmp_path, monkeypatch):
    class FakeCounter:
        def __init__(self):
            self.t = 0.0

        def read_mj(self):
            self.t += 7.0
            return self.t

    import hwpred.measure.harness as harness

    monkeypatch.setattr(harness, "open_energy_counter", lambda *a, **k: FakeCounter())
    res = measure_space(_cfg(energy=True), limit=3, out=None, progress=False, build_fn=tiny_build)
    e = res.table.column("cpu-t1-b1/energy_mj")
    assert np.allclose(e, 7.0 / 2)  # one counter step over two timed forwards
    assert res.table.units["cpu-t1-b1/energy_mj"] == "mJ"


def test_rounds_report_the_median_of_jobs_on_fresh_builds(tmp_path):
    """--rounds 3: three jobs per arch and pass, each on its own build, spread through the order; the
    table reports their median, so one job that the machine threw off does not move the figure."""
    from hwpred.measure.schedule import schedule_rounds

    archs = select_archs("nb201", limit=4, seed=0)
    cost = {a: 2.0 + 1.5 * i for i, a in enumerate(archs)}
    built: list = []

    def build(arch):
        arch = tuple(arch)
        if arch not in cost:  # the reference
            return Sleeper(1.0)
        built.append(arch)
        outlier = arch == archs[0] and built.count(arch) == 2
        return Sleeper(20.0 if outlier else cost[arch])

    out = tmp_path / "r3.parquet"
    res = measure_space(_cfg(rounds=3), archs=archs, out=out, progress=False, build_fn=build)
    assert res.complete and res.measured_now == 12 and len(res.table) == 4
    assert sorted(built) == sorted(archs * 3)  # a fresh build for every job
    assert built != [a for _ in range(3) for a in built[:4]]  # the rounds are shuffled, not run back to back
    t, tag = res.table, "cpu-t1-b1"
    lat = dict(zip(t.arch_tuples, t.column(f"{tag}/latency_ms")))
    for a in archs:
        # the 20 ms job of archs[0] is outvoted; the margin allows for sleeps a loaded machine overshoots
        assert cost[a] <= lat[a] < cost[a] + 10.0
    assert np.all(t.column(f"{tag}/n_repeats") == 3 * FAST.repeats)
    recs = [json.loads(line) for line in journal_path(tmp_path / "r3.parquet").read_text().splitlines()]
    jobs0 = [r for r in recs if r["kind"] == "result" and tuple(r["arch"]) == archs[0]]
    assert sorted(r["round"] for r in jobs0) == [0, 1, 2]
    assert lat[archs[0]] == np.median([r["stats"]["median_ms"] for r in jobs0])
    assert max(r["stats"]["median_ms"] for r in jobs0) >= 20.0
    assert t.meta["measure"]["protocol"]["rounds"] == 3 and "3 jobs per pass" in t.meta["measure"]["order"]
    # the schedule: each (arch, pass, round) once, in sweeps: round 0 is the one-round order, and
    # round 1 visits every arch and pass again in another order
    two = schedule_rounds(archs, two_pass=True, seed=0, rounds=2)
    assert sorted(two) == sorted((a, p, r) for a in archs for p in (0, 1) for r in (0, 1))
    assert [r for _, _, r in two] == [0] * 8 + [1] * 8
    assert [(a, p) for a, p, _ in two[:8]] == schedule(archs, True, 0)
    assert [(a, p) for a, p, _ in two[8:]] != schedule(archs, True, 0)
    assert [(a, p) for a, p, _ in schedule_rounds(archs, True, 0, 1)] == schedule(archs, True, 0)
    with pytest.raises(MeasureError, match="another protocol"):
        measure_space(_cfg(), archs=archs, out=out, resume=True, progress=False, build_fn=build)
    with pytest.raises(MeasureError, match="rounds must be >= 1"):
        _cfg(rounds=0).resolved()


def test_rounds_resume_after_interruption_and_without_journal(tmp_path):
    out = tmp_path / "rr.parquet"
    ref = REF
    built: list = []
    crashing = crashing_after(7, built)

    cfg = _cfg(rounds=3, two_pass=True)
    with pytest.raises(Crash):
        measure_space(cfg, limit=3, out=out, progress=False, build_fn=crashing)
    again: list = []
    res = measure_space(
        cfg, limit=3, out=out, resume=True, progress=False, build_fn=lambda a: again.append(a) or Tiny(a)
    )
    assert res.complete and len(res.table) == 3 and res.measured_now == 3 * 2 * 3 - 7
    assert len([a for a in again if tuple(a) != ref]) == 11
    before = res.table
    # the journal lost: the table's merged figures stand for all their rounds; only the new arch is measured
    journal_path(tmp_path / "rr.parquet").unlink()
    calls: list = []
    res = measure_space(
        cfg, limit=4, out=out, resume=True, progress=False, build_fn=lambda a: calls.append(a) or Tiny(a)
    )
    assert len(res.table) == 4 and len([a for a in calls if tuple(a) != ref]) == 2 * 3
    col = "cpu-t1-b1/latency_pass2_ms"
    assert np.array_equal(res.table.lookup(col, before.arch_tuples), before.column(col))


def test_rounds_can_be_raised_on_resume_from_the_journal(tmp_path):
    """A finished 2-round run resumed with --rounds 3 measures only the third sweep; the table then
    reports the median of the three jobs. Fewer rounds, or more without the per-job journal, are refused."""
    out = tmp_path / "raise.parquet"
    first: list = []
    measure_space(
        _cfg(rounds=2, two_pass=True),
        limit=3,
        out=out,
        progress=False,
        build_fn=lambda a: first.append(a) or Tiny(a),
    )
    calls: list = []
    res = measure_space(
        _cfg(rounds=3, two_pass=True),
        limit=3,
        out=out,
        resume=True,
        progress=False,
        build_fn=lambda a: calls.append(a) or Tiny(a),
    )
    assert res.complete and res.measured_now == 3 * 2
    assert len([a for a in calls if tuple(a) != REF]) == 3 * 2
    recs = [json.loads(line) for line in journal_path(out).read_text().splitlines()]
    headers = [r for r in recs if r["kind"] == "header"]
    assert [h["protocol"]["rounds"] for h in headers] == [2, 3] and headers[1]["raised_rounds_from"] == 2
    jobs = [r for r in recs if r["kind"] == "result"]
    assert sorted(r["round"] for r in jobs) == [0] * 6 + [1] * 6 + [2] * 6
    t, tag = MetricTable.read_parquet(out), "cpu-t1-b1"
    assert t.meta["measure"]["protocol"]["rounds"] == 3
    assert np.all(t.column(f"{tag}/n_repeats") == 3 * FAST.repeats)
    a0 = t.arch_tuples[0]
    lat0 = [r["stats"]["median_ms"] for r in jobs if tuple(r["arch"]) == a0 and r["pass"] == 0]
    assert t.lookup(f"{tag}/latency_ms", [a0])[0] == np.median(lat0)
    with pytest.raises(MeasureError, match="another protocol"):
        measure_space(
            _cfg(rounds=2, two_pass=True), limit=3, out=out, resume=True, progress=False, build_fn=Tiny
        )
    # without the journal the table's merged figures cannot be extended by a round
    journal_path(out).unlink()
    with pytest.raises(MeasureError, match="journal .* is gone"):
        measure_space(
            _cfg(rounds=4, two_pass=True), limit=3, out=out, resume=True, progress=False, build_fn=Tiny
        )
    # nor can a journal rebuilt from the table (it holds the merged figures only)
    measure_space(_cfg(rounds=3, two_pass=True), limit=3, out=out, resume=True, progress=False, build_fn=Tiny)
    with pytest.raises(MeasureError, match="rebuilt from a table"):
        measure_space(
            _cfg(rounds=4, two_pass=True), limit=3, out=out, resume=True, progress=False, build_fn=Tiny
        )


def test_resume_ignores_adaptive_settings_of_a_fixed_repeat_run():
    from hwpred.measure.resume import raises_rounds, same_protocol

    base = {
        "space": "nb201",
        "policy": {
            "repeats": 10,
            "warmup": 2,
            "adaptive": False,
            "target_rel_ci": 0.02,
            "confidence": 0.95,
            "max_repeats": 200,
            "max_time_s": None,
            "step": 5,
        },
    }
    other_target = {**base, "policy": {**base["policy"], "target_rel_ci": 0.5, "max_repeats": 50}}
    assert same_protocol(base, other_target)
    assert not same_protocol(base, {**base, "policy": {**base["policy"], "repeats": 20}})
    # journals from before --rounds existed measured one job per pass
    assert same_protocol(base, {**base, "rounds": 1}) and not same_protocol(base, {**base, "rounds": 3})
    assert raises_rounds(base, {**base, "rounds": 3}) and not raises_rounds({**base, "rounds": 3}, base)
    assert not raises_rounds(base, {**base, "rounds": 3, "threads": 2})
    adaptive = {**base, "policy": {**base["policy"], "adaptive": True}}
    assert not same_protocol(adaptive, {**adaptive, "policy": {**adaptive["policy"], "target_rel_ci": 0.5}})
