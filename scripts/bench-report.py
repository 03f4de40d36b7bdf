#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Gather the raw results of scripts/bench.sh into bench.json, write the
gnuplot data and script for the plots, and print the summary.

Usage: bench-report.py RAWDIR OUTDIR

Every figure is kept absolute beside its ratio to the baseline it is
compared with:
  latency   the broker's one-way median / the relay's one-way median, at
            the same size (read_lat and atomic_lat are round trips: they
            are set against the relay's round trip);
  bandwidth the broker's GB/s / memcpy's GB/s at the same size;
  rate      the 8-byte unsignaled WRITE rate / the 5 Mmsg/s target;
  peers     the broker's figure / the peer's at the same size.

The figures the targets judge (send_lat at 8 B against the relay,
write_bw at 1 MiB and above against memcpy) come in paired rounds,
raw/perf-TEST-SIZE-rK.json each followed by raw/base-NAME-SIZE-rK.json.
Their row's "paired" object keeps every round's pair and ratio, the
median of each side and the median of the per-round ratios, which is
also the row's "ratio"; the row's other figures, and the baseline's row
at that size, are those of the median round of each side (for an even
count, the lower of the two middle ones).
"""

import glob
import json
import os
import re
import statistics
import sys

# 2: paired rounds; a paired row's "ratio" is the median paired ratio.
SCHEMA = 2
LAT_TESTS = ("send_lat", "write_lat", "read_lat", "ud_send_lat")
BW_TESTS = ("write_bw", "read_bw", "send_bw")
# perftest convention: these two are whole round trips.
ROUND_TRIP = ("read_lat", "atomic_lat")
# ucx_perftest reports MB/s of 2^20 bytes.
MIB = 1048576


def load_json(path):
    with open(path) as f:
        return json.load(f)


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    # Four significant digits: a small ratio (8-byte bandwidth over
    # memcpy's) must not round to 0.
    return float(f"{a / b:.4g}")


def machine(raw):
    m = {}
    with open(os.path.join(raw, "machine.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            m[k] = v
    info = {
        "nproc": int(m.get("nproc") or 0),
        "model": m.get("model", ""),
        "kernel": m.get("kernel", ""),
        "date": m.get("date", ""),
        "git": m.get("git", ""),
    }
    run = {
        "quick": m.get("quick") == "1",
        "sizes": [int(s) for s in m.get("sizes", "").split()],
        "spin_us": int(m.get("spin_us") or 0),
        "rate_tx_depth": int(m.get("rate_depth") or 0),
        "rounds": int(m.get("rounds") or 1),
        "wall_s": int(m.get("wall_s") or 0),
    }
    return info, run


def by_size(raw, pattern):
    """{size: path} for the files raw/pattern-SIZE.ext."""
    out = {}
    rx = re.compile(re.escape(pattern) + r"-(\d+)\.[a-z]+$")
    for p in glob.glob(os.path.join(raw, pattern + "-*")):
        m = rx.fullmatch(os.path.basename(p))
        if m:
            out[int(m.group(1))] = p
    return dict(sorted(out.items()))


def rounds_by_size(raw, pattern):
    """{size: [path of round 1, 2, ...]} for the files raw/pattern-SIZE-rK.ext."""
    found = {}
    rx = re.compile(re.escape(pattern) + r"-(\d+)-r(\d+)\.[a-z]+$")
    for p in glob.glob(os.path.join(raw, pattern + "-*-r*")):
        m = rx.fullmatch(os.path.basename(p))
        if m:
            found.setdefault(int(m.group(1)), {})[int(m.group(2))] = p
    out = {}
    for size, r in sorted(found.items()):
        if sorted(r) != list(range(1, len(r) + 1)):
            raise ValueError(f"{raw}: {pattern}-{size}: rounds {sorted(r)}, want 1..{len(r)}")
        out[size] = [r[k] for k in sorted(r)]
    return out


def median_round(values):
    """The index of the median of values (of the lower middle one for an
    even count)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    return order[(len(values) - 1) // 2]


def rows_of(raw, pattern, parse, key):
    """[row]: parse(path) of each raw/pattern-SIZE.ext, or of the median
    round by key where the size ran in rounds; such a row says which
    round it is ("round") of how many ("rounds")."""
    out = {size: parse(p) for size, p in by_size(raw, pattern).items()}
    for size, paths in rounds_by_size(raw, pattern).items():
        if size in out:
            raise ValueError(f"{raw}: {pattern}-{size}: both a single run and rounds")
        rs = [parse(p) for p in paths]
        k = median_round([r[key] for r in rs])
        out[size] = dict(rs[k], round=k + 1, rounds=len(rs))
    return [dict({"size": size}, **r) for size, r in sorted(out.items())]


def one(path):
    """The single row of a one-size JSON array."""
    rows = load_json(path)
    if not isinstance(rows, list) or len(rows) != 1:
        raise ValueError(f"{path}: want one row, got {rows!r}")
    return rows[0]


def base_lat(r):
    return {"iters": r["iters"],
            "oneway_median_us": r["oneway_us"]["median"],
            "oneway_min_us": r["oneway_us"]["min"],
            "oneway_p99_us": r["oneway_us"]["p99"],
            "rtt_median_us": r["rtt_us"]["median"]}


def base_bw(r):
    return {"msgs": r["msgs"], "bw_gbps": r["gb_per_s"], "msg_rate_mpps": r["mmsg_per_s"]}


def base_lat_file(p):
    return base_lat(one(p))


def base_bw_file(p):
    return base_bw(one(p))


def baselines(raw):
    b = {"unix_lat": [], "unix_bw": []}
    b["relay_lat"] = rows_of(raw, "base-relay", base_lat_file, "oneway_median_us")
    b["shm_lat"] = rows_of(raw, "base-shm", base_lat_file, "oneway_median_us")
    b["memcpy_bw"] = rows_of(raw, "base-memcpy", base_bw_file, "bw_gbps")
    for size, p in by_size(raw, "base-unix").items():
        for r in load_json(p):
            if r["test"] == "unix_lat":
                b["unix_lat"].append(dict({"size": size}, **base_lat(r)))
            elif r["test"] == "unix_bw":
                b["unix_bw"].append(dict({"size": size}, **base_bw(r)))
    b = {k: b[k] for k in ("relay_lat", "shm_lat", "unix_lat", "memcpy_bw", "unix_bw")}
    # Beside the control path: the round trip sleeping, and polling first.
    b["unix_ctl_lat"] = [dict({"size": size}, **base_lat(r))
                         for size, p in by_size(raw, "base-unixctl").items()
                         for r in load_json(p) if r["test"] == "unix_lat"]
    b["unix_poll_lat"] = [dict({"size": size, "spin_us": r["spin_us"]}, **base_lat(r))
                          for size, p in by_size(raw, "base-unixpoll").items()
                          for r in load_json(p) if r["test"] == "unix_poll_lat"]
    # The control verbs' system calls beyond their round trips.
    p = os.path.join(raw, "base-ctlwork.json")
    b["ctl_work"] = {r["test"]: {"iters": r["iters"], "median_us": r["us"]["median"],
                                 "min_us": r["us"]["min"]}
                     for r in (load_json(p) if os.path.exists(p) else [])}
    return b


def at(rows, size, key):
    for r in rows:
        if r["size"] == size:
            return r.get(key)
    return None


# The paired figures: broker test -> (its key, baseline files, their
# parser, the baseline's key, the baseline's row list).
PAIRED = {"send_lat": ("lat_median_us", "base-relay", base_lat_file, "oneway_median_us", "relay_lat"),
          "write_bw": ("bw_gbps", "base-memcpy", base_bw_file, "bw_gbps", "memcpy_bw")}


def paired(raw, t, size, parse):
    """The rounds of test t at size with their baseline's: every pair,
    the median of each side and the median of the per-round ratios."""
    key, base_pat, parse_base, base_key, base_rows = PAIRED[t]
    mine = rounds_by_size(raw, "perf-" + t)[size]
    theirs = rounds_by_size(raw, base_pat).get(size, [])
    if len(mine) != len(theirs):
        raise ValueError(f"{raw}: {t} at {size} B: {len(mine)} rounds, {base_pat} {len(theirs)}")
    rounds = []
    for k, (p, q) in enumerate(zip(mine, theirs)):
        x, y = parse(p)[key], parse_base(q)[base_key]
        rounds.append({"round": k + 1, "broker": x, "base": y, "ratio": ratio(x, y)})
    return {"baseline": base_rows, "key": key, "base_key": base_key, "rounds": rounds,
            "broker_median": statistics.median(r["broker"] for r in rounds),
            "base_median": statistics.median(r["base"] for r in rounds),
            "ratio_median": float(f"{statistics.median(r['broker'] / r['base'] for r in rounds):.4g}")}


def broker(raw, base):
    relay = base["relay_lat"]
    memcpy = base["memcpy_bw"]
    b = {}

    def lat(p):
        r = one(p)
        return {"iters": r["iters"], "transport": r["transport"],
                "lat_min_us": r["lat_min_us"], "lat_median_us": r["lat_median_us"],
                "lat_p99_us": r["lat_p99_us"], "lat_p999_us": r["lat_p999_us"]}

    def bw(p):
        r = one(p)
        return {"iters": r["iters"], "bw_gbps": r["bw_gbps"], "msg_rate_mpps": r["msg_rate_mpps"]}

    for t in LAT_TESTS + ("atomic_lat",):
        rows = []
        vs = "relay_rtt" if t in ROUND_TRIP else "relay_oneway"
        for r in rows_of(raw, "perf-" + t, lat, "lat_median_us"):
            ref = at(relay, r["size"], "rtt_median_us" if t in ROUND_TRIP else "oneway_median_us")
            r.update(one_way=t not in ROUND_TRIP, vs=vs, ratio=ratio(r["lat_median_us"], ref))
            if "rounds" in r:
                r["paired"] = paired(raw, t, r["size"], lat)
                r["ratio"] = r["paired"]["ratio_median"]
            rows.append(r)
        b[t] = rows
    for t in BW_TESTS:
        rows = []
        for r in rows_of(raw, "perf-" + t, bw, "bw_gbps"):
            r.update(vs="memcpy", ratio=ratio(r["bw_gbps"], at(memcpy, r["size"], "bw_gbps")))
            if "rounds" in r:
                r["paired"] = paired(raw, t, r["size"], bw)
                r["ratio"] = r["paired"]["ratio_median"]
            rows.append(r)
        b[t] = rows
    rate = by_size(raw, "perf-msg_rate")
    if 8 in rate:
        r = one(rate[8])
        b["msg_rate"] = {
            "test": "write_bw", "size": 8, "iters": r["iters"], "inline": r["inline"],
            "unsignaled": True, "msg_rate_mpps": r["msg_rate_mpps"], "bw_gbps": r["bw_gbps"],
            "vs": "target_5mpps", "ratio": ratio(r["msg_rate_mpps"], 5.0),
        }
    return b


def control(raw):
    """bench/rdmab-scale's runs, as it printed them; qp_rate_cache is
    qp_rate with RDMABROKER_QP_RING_CACHE=16 (kept rings)."""
    c = {}
    for t in ("qp_rate", "qp_rate_cache", "mr_rate", "scale"):
        p = os.path.join(raw, f"scale-{t}.json")
        c[t] = load_json(p) if os.path.exists(p) else None
    return c


def status(raw, name):
    try:
        with open(os.path.join(raw, name + ".status")) as f:
            s = f.read().strip()
    except OSError:
        s = "unavailable: not run"
    return s


def ucx_csv(path):
    """The final figures of `ucx_perftest -f -v`: a CSV header and a row."""
    with open(path) as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("[")]
    head = None
    for l in lines:
        if l.startswith("iterations,"):
            head = l.split(",")
        elif head and re.match(r"^\d", l):
            vals = l.split(",")
            if len(vals) == len(head):
                return dict(zip(head, (float(v) for v in vals)))
    raise ValueError(f"{path}: no ucx_perftest result line")


def fi_txt(path):
    """fi_pingpong's table: bytes #sent #ack total time MB/sec usec/xfer
    Mxfers/sec.  A transfer is one way: an iteration is two of them."""
    with open(path) as f:
        for l in f:
            w = l.split()
            if len(w) == 8 and re.match(r"^\d+[kmg]?$", w[0]):
                return {"usec_per_xfer": float(w[6]), "mb_per_s": float(w[5]), "iters": w[1]}
    raise ValueError(f"{path}: no fi_pingpong result line")


def pt_txt(path):
    """perftest's result row.  Latency tools: #bytes #iterations t_min
    t_max t_typical t_avg t_stdev 99% 99.9% (usec, one way for send and
    write); bandwidth tools: #bytes #iterations BW peak, BW average
    (MB/sec of 2^20 bytes) MsgRate (Mpps)."""
    head = None
    with open(path) as f:
        for l in f:
            w = l.split()
            if w[:2] == ["#bytes", "#iterations"]:
                head = "lat" if "t_typical[usec]" in w else "bw"
            elif head and len(w) >= 5 and re.match(r"^\d+$", w[0]):
                if head == "lat":
                    return {"iters": int(w[1]), "lat_min_us": float(w[2]),
                            "lat_typical_us": float(w[4]), "lat_avg_us": float(w[5])}
                return {"iters": int(w[1]), "bw_gbps": round(float(w[3]) * MIB / 1e9, 6),
                        "msg_rate_mpps": float(w[4])}
    raise ValueError(f"{path}: no perftest result row")


# perftest tool: (rdmab-perf test it stands beside, perftest's key, rdmab-perf's key)
PT_TOOLS = {"ib_send_lat": ("send_lat", "lat_typical_us", "lat_median_us"),
            "ib_write_lat": ("write_lat", "lat_typical_us", "lat_median_us"),
            "ib_write_bw": ("write_bw", "bw_gbps", "bw_gbps"),
            "ib_read_bw": ("read_bw", "bw_gbps", "bw_gbps")}


def perftest(raw, b):
    """perftest on rbsoft0 beside rdmab-perf: each row has the ratio of
    rdmab-perf's figure to perftest's (the median round where paired)."""
    st = status(raw, "perftest")
    pt = {"tool": "perftest", "device": "rbsoft0", "status": "ok" if st.startswith("ok") else st}
    for tool, (test, key, bkey) in PT_TOOLS.items():
        rows = []
        for r in rows_of(raw, "pt-" + tool, pt_txt, key):
            r["rdmab_perf_ratio"] = ratio(at(b[test], r["size"], bkey), r[key])
            rows.append(r)
        pt[tool] = rows
    return pt


def peers(raw, b):
    p = {"perftest": perftest(raw, b)}
    st = status(raw, "ucx")
    ucx = {"tool": "ucx_perftest", "status": "ok" if st.startswith("ok") else st,
           "tag_lat": [], "tag_bw": []}
    if st.startswith("ok"):
        ucx["ucx_tls"] = st.split(None, 1)[1]
    for size, path in by_size(raw, "ucx-tag_lat").items():
        r = ucx_csv(path)
        lat = r.get("50.0_percentile_lat", r["avg_lat"])
        ucx["tag_lat"].append({"size": size, "iters": int(r["iterations"]), "lat_median_us": lat,
                               "lat_avg_us": r["avg_lat"],
                               "broker_send_lat_ratio": ratio(at(b["send_lat"], size, "lat_median_us"), lat)})
    for size, path in by_size(raw, "ucx-tag_bw").items():
        r = ucx_csv(path)
        gbps = r["overall_bw"] * MIB / 1e9
        ucx["tag_bw"].append({"size": size, "iters": int(r["iterations"]), "bw_gbps": round(gbps, 6),
                              "msg_rate_mpps": round(r["overall_mr"] / 1e6, 6),
                              "broker_send_bw_ratio": ratio(at(b["send_bw"], size, "bw_gbps"), gbps)})
    p["ucx"] = ucx
    st = status(raw, "fi")
    fi = {"tool": "fi_pingpong", "provider": "shm", "ep_type": "rdm",
          "status": "ok" if st.startswith("ok") else st, "pingpong_lat": []}
    for size, path in by_size(raw, "fi").items():
        try:
            r = fi_txt(path)
        except ValueError:
            continue
        fi["pingpong_lat"].append({"size": size, "lat_oneway_us": r["usec_per_xfer"],
                                   "broker_send_lat_ratio": ratio(at(b["send_lat"], size, "lat_median_us"),
                                                                  r["usec_per_xfer"])})
    p["fi"] = fi
    return p


def rounds(n):
    return "1 round" if n == 1 else f"{n} rounds"


def targets(b, base):
    """The three data-path targets.  A paired figure is judged by its
    median paired ratio; its entry says over how many rounds ("rounds")."""
    t = []
    row = next((x for x in b["send_lat"] if x["size"] == 8), None)
    relay8 = at(base["relay_lat"], 8, "oneway_median_us")
    r = row and row["ratio"]
    e = {"name": "8 B RC send one-way latency vs relay one-way", "target": "<= 1.25x",
         "measured": r, "detail": None, "holds": None if r is None else r <= 1.25}
    if r is not None and "paired" in row:
        pr = row["paired"]
        e["rounds"] = len(pr["rounds"])
        e["detail"] = (f"median paired ratio of {rounds(e['rounds'])}; medians {pr['broker_median']:.3f} us "
                       f"vs {pr['base_median']:.3f} us")
    elif r is not None:
        e["detail"] = f"{row['lat_median_us']:.3f} us vs {relay8:.3f} us"
    t.append(e)
    big = [x for x in b["write_bw"] if x["size"] >= MIB and x["ratio"] is not None]
    if big:
        worst = min(big, key=lambda x: x["ratio"])
        e = {"name": "RDMA WRITE bw at >= 1 MiB vs memcpy", "target": ">= 0.80x",
             "measured": worst["ratio"],
             "detail": f"lowest at {worst['size']} B: {worst['bw_gbps']:.3f} GB/s",
             "holds": all(x["ratio"] >= 0.8 for x in big)}
        if "paired" in worst:
            pr = worst["paired"]
            e["rounds"] = len(pr["rounds"])
            e["detail"] = (f"lowest at {worst['size']} B, median paired ratio of {rounds(e['rounds'])}; "
                           f"medians {pr['broker_median']:.3f} vs {pr['base_median']:.3f} GB/s")
        if len(big) > 1:
            e["detail"] += "; by size " + ", ".join(f"{human(x['size'])} {x['ratio']:.3f}" for x in big)
        t.append(e)
    else:
        t.append({"name": "RDMA WRITE bw at >= 1 MiB vs memcpy", "target": ">= 0.80x",
                  "measured": None, "detail": "no size >= 1 MiB run", "holds": None})
    mr = b.get("msg_rate", {}).get("msg_rate_mpps")
    t.append({"name": "8 B unsignaled RDMA WRITE message rate", "target": ">= 5 Mmsg/s",
              "measured": mr, "detail": None if mr is None else f"{mr:.3f} Mmsg/s",
              "holds": None if mr is None else mr >= 5.0})
    return t


def rpc_floor(c, base):
    """What UNIX-socket round trips alone allow: a QP cycle is five
    request/reply round trips to the daemon (create, three modifies,
    destroy), an MR pair two.  Two floors, measured right before the
    control path: each side sleeping until its message comes, and each
    side polling first, as the library and the daemon do."""
    rtt = at(base.get("unix_ctl_lat") or base["unix_lat"], 8, "rtt_median_us")
    if not rtt:
        return None
    fl = {"unix_rtt_8b_us": rtt, "qp_cycles_per_s": 1e6 / (5 * rtt),
          "mr_pairs_per_s": 1e6 / (2 * rtt)}
    prtt = at(base.get("unix_poll_lat", []), 8, "rtt_median_us")
    if prtt:
        fl.update({"unix_poll_rtt_8b_us": prtt, "poll_qp_cycles_per_s": 1e6 / (5 * prtt),
                   "poll_mr_pairs_per_s": 1e6 / (2 * prtt)})
        # With the system calls each needs besides: what the default
        # path can reach here at best.
        w = base.get("ctl_work", {})
        if "qp_work" in w and "mr_work" in w:
            qw, mw = w["qp_work"]["median_us"], w["mr_work"]["median_us"]
            fl.update({"qp_work_us": qw, "mr_work_us": mw,
                       "work_qp_cycles_per_s": 1e6 / (5 * prtt + qw),
                       "work_mr_pairs_per_s": 1e6 / (2 * prtt + mw)})
    return fl


def control_targets(c, quick):
    t = []
    q, m, sc = c.get("qp_rate"), c.get("mr_rate"), c.get("scale")
    fl = c.get("rpc_floor")

    def add(name, target, measured, detail, holds):
        t.append({"name": name, "target": target, "measured": measured,
                  "detail": detail, "holds": holds})
    v = q and q.get("cycles_per_s")
    add("QP create -> RTS -> destroy per second", ">= 20000", v,
        None if v is None else f"{q['iters']} cycles, median {q['cycle_median_us']:.1f} us"
        + ("" if not fl else f"; 5 UNIX-socket round trips allow {fl['qp_cycles_per_s']:.0f}/s"
           + (f" sleeping, {fl['poll_qp_cycles_per_s']:.0f}/s polling" if "poll_qp_cycles_per_s" in fl else "")
           + (f", {fl['work_qp_cycles_per_s']:.0f}/s with the create and destroy system calls"
              if "work_qp_cycles_per_s" in fl else ""))
        + ("" if not c.get("qp_rate_cache") else
           f"; {c['qp_rate_cache']['cycles_per_s']:.0f}/s with RDMABROKER_QP_RING_CACHE=16"),
        None if v is None else v >= 20000)
    v = m and m.get("pairs_per_s")
    add("4 KiB MR reg + dereg per second", ">= 20000", v,
        None if v is None else f"reg {m['reg_median_us']:.1f} us, dereg {m['dereg_median_us']:.1f} us median"
        + ("" if not fl else f"; 2 UNIX-socket round trips allow {fl['mr_pairs_per_s']:.0f}/s"
           + (f" sleeping, {fl['poll_mr_pairs_per_s']:.0f}/s polling" if "poll_mr_pairs_per_s" in fl else "")
           + (f", {fl['work_mr_pairs_per_s']:.0f}/s with the re-backing system calls"
              if "work_mr_pairs_per_s" in fl else "")),
        None if v is None else v >= 20000)
    if sc:
        held = sc["clients"] >= 1000 and sc["qps"] >= 10000
        add("clients and idle QPs held by one daemon", ">= 1000 and >= 10000",
            float(sc["qps"]), f"{sc['clients']} clients, {sc['qps']} QPs"
            f"{' (quick: fewer)' if quick else ''}", None if quick else held)
        add("8 B send latency with the idle QPs vs without", "<= 1.10x", sc["lat_ratio"],
            f"{sc['lat_with_idle_us']:.3f} us vs {sc['lat_pair_only_us']:.3f} / "
            f"{sc['lat_after_us']:.3f} us before / after", sc["lat_ratio"] <= 1.10)
        add("daemon CPU with every client and QP idle", "< 1 %", sc["daemon_idle_cpu_pct"],
            f"{sc['bytes_per_idle_qp']} B of daemon memory per idle QP "
            f"({sc['bytes_per_idle_qp_shmem']} B rings, {sc['bytes_per_idle_qp_anon']} B heap)",
            sc["daemon_idle_cpu_pct"] < 1.0)
    return t


def fmt(v, width=10, prec=3):
    if v is None:
        return f"{'-':>{width}}"
    if isinstance(v, float) and (v >= 10 ** (width - prec - 2)):
        return f"{v:>{width}.3g}"
    return f"{v:>{width}.{prec}f}"


def human(size):
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB}M"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024}K"
    return str(size)


def summary(doc):
    m, run, b, base, p = doc["machine"], doc["run"], doc["broker"], doc["baselines"], doc["peers"]
    out = []
    w = out.append
    w(f"rdmabroker bench{' (quick: the figures mean nothing)' if run['quick'] else ''}")
    w(f"  {m['date']}  git {m['git']}  {m['kernel']}  {m['nproc']} CPUs  {m['model']}")
    w(f"  wall time {run['wall_s']} s")
    w("")
    w("Latency, median usec: one way, except read and atomic (round trip)")
    cols = [("send", b["send_lat"], "lat_median_us"), ("write", b["write_lat"], "lat_median_us"),
            ("read rt", b["read_lat"], "lat_median_us"), ("ud send", b["ud_send_lat"], "lat_median_us"),
            ("relay", base["relay_lat"], "oneway_median_us"), ("shm 2p", base["shm_lat"], "oneway_median_us"),
            ("unix", base["unix_lat"], "oneway_median_us"), ("ucx tag", p["ucx"]["tag_lat"], "lat_median_us"),
            ("fi shm", p["fi"]["pingpong_lat"], "lat_oneway_us")]
    w(f"{'size':>6}" + "".join(f"{c[0]:>10}" for c in cols) + f"{'send/rly':>10}{'write/rly':>10}{'read/rtt':>10}")
    for s in run["sizes"]:
        w(f"{human(s):>6}" + "".join(fmt(at(c[1], s, c[2])) for c in cols)
          + fmt(at(b["send_lat"], s, "ratio"), prec=2) + fmt(at(b["write_lat"], s, "ratio"), prec=2)
          + fmt(at(b["read_lat"], s, "ratio"), prec=2))
    a = b["atomic_lat"][0] if b["atomic_lat"] else None
    if a:
        w(f"atomic_lat 8 B: {a['lat_median_us']:.3f} us round trip, "
          f"{fmt(a['ratio'], 0, 2).strip()}x the relay's round trip")
    w("")
    w("Bandwidth, GB/s (10^9 B/s)")
    cols = [("write", b["write_bw"]), ("read", b["read_bw"]), ("send", b["send_bw"]),
            ("memcpy", base["memcpy_bw"]), ("unix", base["unix_bw"]), ("ucx tag", p["ucx"]["tag_bw"])]
    w(f"{'size':>6}" + "".join(f"{c[0]:>10}" for c in cols) + f"{'write/mc':>10}{'read/mc':>10}{'send/mc':>10}")
    for s in run["sizes"]:
        w(f"{human(s):>6}" + "".join(fmt(at(c[1], s, "bw_gbps"), prec=4) for c in cols)
          + "".join(fmt(at(b[t], s, "ratio"), prec=2) for t in BW_TESTS))
    mr = b.get("msg_rate")
    if mr:
        w(f"message rate: write_bw 8 B inline unsignaled, window {run['rate_tx_depth']} "
          f"(doorbell every {max(run['rate_tx_depth'] // 4, 1)}): {mr['msg_rate_mpps']:.3f} Mmsg/s")
    w("")
    w(f"peers: ucx_perftest: {p['ucx']['status']}" + (f" (UCX_TLS={p['ucx']['ucx_tls']})" if "ucx_tls" in p["ucx"] else ""))
    w(f"       fi_pingpong -p shm -e rdm: {p['fi']['status']}")
    pt = p["perftest"]
    w(f"       perftest on rbsoft0 (rdmab-run): {pt['status']}")
    if any(pt[t] for t in PT_TOOLS):
        w("perftest beside rdmab-perf: send/write lat typical usec (one way), write/read bw GB/s;"
          " x = rdmab-perf / perftest")
        w(f"{'size':>6}" + "".join(f"{t:>14}{'x':>6}" for t in PT_TOOLS))
        for sz in run["sizes"]:
            line = f"{human(sz):>6}"
            for t, (test, key, bkey) in PT_TOOLS.items():
                line += fmt(at(pt[t], sz, key), 14) + fmt(at(pt[t], sz, "rdmab_perf_ratio"), 6, 2)
            w(line)
    w("")
    c = doc["control"]
    if c.get("qp_rate") and c.get("mr_rate") and c.get("scale"):
        q, mr_, sc = c["qp_rate"], c["mr_rate"], c["scale"]
        w("Control path and scale (bench/rdmab-scale)")
        w(f"  qp_rate: {q['cycles_per_s']:.0f} cycles/s ({q['verbs_per_s']:.0f} verbs/s); median us: "
          + ", ".join(f"{k} {v:.1f}" for k, v in q["median_us"].items()))
        qc = c.get("qp_rate_cache")
        if qc:
            w(f"           {qc['cycles_per_s']:.0f} cycles/s with kept rings (RDMABROKER_QP_RING_CACHE=16); "
              "median us: " + ", ".join(f"{k} {v:.1f}" for k, v in qc["median_us"].items()))
        w(f"  mr_rate: {mr_['pairs_per_s']:.0f} 4 KiB reg+dereg pairs/s; reg {mr_['reg_median_us']:.1f} us, "
          f"dereg {mr_['dereg_median_us']:.1f} us median")
        w(f"  scale: {sc['clients']} clients opened in {sc['clients_open_s']:.2f} s, {sc['qps']} QPs created in "
          f"{sc['qps_create_s']:.2f} s; per idle QP {sc['bytes_per_idle_qp']} B "
          f"(PSS {sc['bytes_per_idle_qp_pss']} B), per client {sc['bytes_per_client']} B; idle CPU "
          f"{sc['daemon_idle_cpu_pct']:.2f} %")
        w(f"         8 B send one-way {sc['lat_pair_only_us']:.3f} us alone, {sc['lat_with_idle_us']:.3f} us "
          f"with the idle QPs, {sc['lat_after_us']:.3f} us after: ratio {sc['lat_ratio']:.3f}")
        fl = c.get("rpc_floor")
        if fl:
            w(f"  floor: an 8 B UNIX-socket round trip takes {fl['unix_rtt_8b_us']:.2f} us here, so "
              f"{fl['qp_cycles_per_s']:.0f} QP cycles/s (5 round trips) and "
              f"{fl['mr_pairs_per_s']:.0f} MR pairs/s (2) at most, with no work done")
            if "unix_poll_rtt_8b_us" in fl:
                w(f"         polling first on both sides: {fl['unix_poll_rtt_8b_us']:.2f} us, so "
                  f"{fl['poll_qp_cycles_per_s']:.0f} QP cycles/s and "
                  f"{fl['poll_mr_pairs_per_s']:.0f} MR pairs/s")
            if "qp_work_us" in fl:
                w(f"         with the system calls besides (bench/baseline ctlwork): a QP create+destroy "
                  f"{fl['qp_work_us']:.2f} us, an MR reg+dereg {fl['mr_work_us']:.2f} us, so "
                  f"{fl['work_qp_cycles_per_s']:.0f} QP cycles/s and "
                  f"{fl['work_mr_pairs_per_s']:.0f} MR pairs/s at most on the default path")
        w("")
    pairs = [(t, x) for t in PAIRED for x in b[t] if "paired" in x]
    if pairs:
        w(f"Paired rounds: the broker test, then its baseline; {rounds(run['rounds'])}; "
          "a target is judged by the median of the per-round ratios")
        w(f"{'test':>10}{'size':>6}{'vs':>11}{'round':>7}{'broker':>10}{'base':>10}{'ratio':>8}")
        for t, x in pairs:
            pr = x["paired"]
            unit = "GB/s" if pr["key"] == "bw_gbps" else "us"
            head = f"{t:>10}{human(x['size']):>6}{pr['baseline'].split('_')[0]:>11}"
            for r in pr["rounds"]:
                w(head + f"{r['round']:>7}" + fmt(r["broker"]) + fmt(r["base"]) + fmt(r["ratio"], 8))
            w(head + f"{'median':>7}" + fmt(pr["broker_median"]) + fmt(pr["base_median"])
              + fmt(pr["ratio_median"], 8) + f"  {unit}")
        w("")
    w("Targets (issue 5; informative, the exit status does not depend on them)")
    for t in doc["targets"]:
        holds = "n/a" if t["holds"] is None else ("yes" if t["holds"] else "NO")
        meas = "-" if t["measured"] is None else f"{t['measured']:.3f}"
        w(f"  {t['name']}: target {t['target']} / measured {meas}"
          f"{'' if not t['detail'] else ' (' + t['detail'] + ')'} / holds? {holds}")
    return "\n".join(out) + "\n"


def series(path, rows, key):
    n = 0
    with open(path, "w") as f:
        for r in rows:
            v = r.get(key)
            if v is not None and v > 0:
                f.write(f"{r['size']} {v}\n")
                n += 1
    return n


def plots(doc, outdir):
    b, base, p = doc["broker"], doc["baselines"], doc["peers"]
    os.makedirs(os.path.join(outdir, "plot"), exist_ok=True)
    lat = [("broker send_lat (1-way)", b["send_lat"], "lat_median_us"),
           ("broker write_lat (1-way)", b["write_lat"], "lat_median_us"),
           ("broker read_lat (RTT)", b["read_lat"], "lat_median_us"),
           ("broker UD send_lat (1-way)", b["ud_send_lat"], "lat_median_us"),
           ("relay, 3-party (1-way)", base["relay_lat"], "oneway_median_us"),
           ("shm, 2-party (1-way)", base["shm_lat"], "oneway_median_us"),
           ("unix ping-pong (1-way)", base["unix_lat"], "oneway_median_us"),
           ("ucx tag_lat shm (1-way)", p["ucx"]["tag_lat"], "lat_median_us"),
           ("fi_pingpong shm (1-way)", p["fi"]["pingpong_lat"], "lat_oneway_us"),
           ("perftest ib_send_lat (1-way)", p["perftest"]["ib_send_lat"], "lat_typical_us"),
           ("perftest ib_write_lat (1-way)", p["perftest"]["ib_write_lat"], "lat_typical_us")]
    bw = [("broker write_bw", b["write_bw"], "bw_gbps"),
          ("broker read_bw", b["read_bw"], "bw_gbps"),
          ("broker send_bw", b["send_bw"], "bw_gbps"),
          ("memcpy, 1 core", base["memcpy_bw"], "bw_gbps"),
          ("unix stream", base["unix_bw"], "bw_gbps"),
          ("ucx tag_bw shm", p["ucx"]["tag_bw"], "bw_gbps"),
          ("perftest ib_write_bw", p["perftest"]["ib_write_bw"], "bw_gbps"),
          ("perftest ib_read_bw", p["perftest"]["ib_read_bw"], "bw_gbps")]
    gp = ["# gnuplot script written by scripts/bench-report.py",
          "set terminal svg size 1100,600 dynamic noenhanced font 'sans,11'",
          "set logscale xy", "set grid", "set key outside right top noenhanced",
          "set xtics ('1' 1, '8' 8, '64' 64, '512' 512, '4K' 4096, '32K' 32768,"
          " '256K' 262144, '2M' 2097152, '8M' 8388608)",
          "set format y '%g'", "set xlabel 'message size, bytes'"]
    for name, title, ylabel, data in (("latency", "Latency vs message size (median)", "usec", lat),
                                      ("bandwidth", "Bandwidth vs message size", "GB/s", bw)):
        parts = []
        for i, (label, rows, key) in enumerate(data):
            dat = f"plot/{name}-{i}.dat"
            if series(os.path.join(outdir, dat), rows, key):
                style = "lp" if label.startswith("broker") else "lp dt 2"
                parts.append(f"'{dat}' using 1:2 with {style} title '{label}'")
        gp += [f"set output '{name}.svg'", f"set title '{title}'", f"set ylabel '{ylabel}'"]
        gp.append("plot " + ", \\\n     ".join(parts) if parts else
                  "set label 1 'no data' at graph 0.5,0.5 center; plot [1:2] [1:2] NaN notitle; unset label 1")
        gp.append("unset output")
    with open(os.path.join(outdir, "plots.gp"), "w") as f:
        f.write("\n".join(gp) + "\n")


def main():
    if len(sys.argv) != 3:
        print("Usage: bench-report.py RAWDIR OUTDIR", file=sys.stderr)
        return 2
    raw, outdir = sys.argv[1], sys.argv[2]
    info, run = machine(raw)
    base = baselines(raw)
    b = broker(raw, base)
    doc = {"schema": SCHEMA, "machine": info, "run": run, "broker": b,
           "baselines": base, "peers": peers(raw, b)}
    doc["control"] = control(raw)
    doc["control"]["rpc_floor"] = rpc_floor(doc["control"], base)
    doc["targets"] = targets(b, base) + control_targets(doc["control"], run["quick"])
    with open(os.path.join(outdir, "bench.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    plots(doc, outdir)
    sys.stdout.write(summary(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
