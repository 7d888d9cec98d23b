#!/usr/bin/env python3
"""VLMedia's audio preprocessing against the official loader, same machine, same minutes, 2 threads
(not run by CI). Needs the release bench binary and the reference environment of
Fixtures/media/make_audio_reference.py:

    swift build -c release --product vlmedia-audio-bench
    PYTHONPATH=/tmp/ta_overlay /tmp/venv/bin/python scripts/bench_audio.py FILE [FILE ...] [--rounds 3]

Per file and round, alternating the two sides:
  - fbank: the 8 clips' fbank (+ pad + normalize) of `waveform2melspec` — torchaudio's kaldi.fbank on
    the already shifted clips vs `vlmedia-audio-bench fbank`;
  - load: the official `load_and_transform_audio_data([f], clips_per_video=8)` (decode → resample →
    clips → fbank) vs `vlmedia-audio-bench load` (AudioClipLoader);
and each process's peak RSS from /usr/bin/time (of a process that does one load). Also the
libswresample-vs-torchaudio resampling difference (`--swr`), which VLMedia does not use.
Prints a Markdown table.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", ".build", "release", "vlmedia-audio-bench")


def official_main(mode, path, repeats):
    """Runs inside a child Python: the official side, timed in-process."""
    import torch
    torch.set_num_threads(2)
    sys.path.insert(0, os.path.join(HERE, "..", "Fixtures", "media"))
    from official_audio import official, pyav_load, clip_sampling
    import torchaudio
    times = []
    if mode == "load":
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = official["load_and_transform_audio_data"]([path], "cpu", clips_per_video=8)
            times.append(time.perf_counter() - t0)
    else:
        wave, sr = pyav_load(path)
        if sr != 16000:
            wave = torchaudio.functional.resample(wave, orig_freq=sr, new_freq=16000)
        sampler = clip_sampling.ConstantClipsPerVideoSampler(clip_duration=2, clips_per_video=8)
        points = official["get_clip_timepoints"](sampler, wave.size(1) / 16000)
        clips = []
        for a, b in points:
            c = wave[:, int(a * 16000):int(b * 16000)]
            c -= c.mean()
            clips.append(c.clone())
        for _ in range(repeats):
            t0 = time.perf_counter()
            for c in clips:  # waveform2melspec after its mean subtraction, then Normalize
                fb = torchaudio.compliance.kaldi.fbank(
                    c, htk_compat=True, sample_frequency=16000, use_energy=False, window_type="hanning",
                    num_mel_bins=128, dither=0.0, frame_length=25, frame_shift=10).transpose(0, 1)
                p = 204 - fb.size(1)
                fb = torch.nn.functional.pad(fb, (0, p)) if p > 0 else fb[:, :204]
                _ = (fb.unsqueeze(0) - (-4.268)) / 9.138
            times.append(time.perf_counter() - t0)
    s = sorted(times)
    print(json.dumps({"mode": mode, "best": s[0], "median": s[len(s) // 2]}))


def run(cmd):
    p = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    rss = int(re.findall(r"MAXRSS (\d+)", p.stderr)[-1]) / 1024
    return json.loads(p.stdout.strip().splitlines()[-1]), rss


def swr_difference(path):
    """libswresample (FFmpeg's default aresample filter, as `ffmpeg -ar 16000` uses) vs torchaudio."""
    import av
    import numpy as np
    import torchaudio
    sys.path.insert(0, os.path.join(HERE, "..", "Fixtures", "media"))
    from official_audio import pyav_load
    wave, sr = pyav_load(path)
    ref = torchaudio.functional.resample(wave, orig_freq=sr, new_freq=16000).numpy()
    chunks = []
    with av.open(path) as c:
        s = c.streams.best("audio")
        r = av.AudioResampler(format="fltp", layout=s.layout, rate=16000)
        for f in c.decode(s):
            chunks += [o.to_ndarray() for o in r.resample(f)]
        chunks += [o.to_ndarray() for o in r.resample(None)]
    swr = np.concatenate(chunks, axis=1)
    n = min(swr.shape[1], ref.shape[1])
    best = None
    for lag in range(-8, 9):  # align for any constant delay difference
        a = swr[:, max(0, lag):n + min(0, lag)]
        b = ref[:, max(0, -lag):n - max(0, lag)]
        m = min(a.shape[1], b.shape[1])
        d = np.abs(a[:, :m] - b[:, :m])
        if best is None or d.mean() < best[1]:
            best = (lag, d.mean(), d.max(), swr.shape[1], ref.shape[1])
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--swr", action="store_true")
    a = ap.parse_args()
    if a.child:
        return official_main(a.child[0], a.child[1], a.repeat)
    print("| file | step | VLMedia best (s) | official best (s) | ratio | VLMedia peak RSS | official peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for f in a.files:
        for mode in ["fbank", "load"]:
            ours, theirs, ours_rss, theirs_rss = [], [], [], []
            for _ in range(a.rounds):
                o, orss = run([BENCH, mode, f, str(a.repeat), "2"])
                t, trss = run([sys.executable, __file__, "--child", mode, f, "--repeat", str(a.repeat), f])
                ours.append(o["best"]); theirs.append(t["best"])
                ours_rss.append(orss); theirs_rss.append(trss)
            # peak RSS of one load each (repeat 1), so repeated runs do not count
            if mode == "load":
                _, ours_one = run([BENCH, "load", f, "1", "2"])
                _, theirs_one = run([sys.executable, __file__, "--child", "load", f, "--repeat", "1", f])
                rss = f"{ours_one:.0f} MiB", f"{theirs_one:.0f} MiB"
            else:
                rss = "", ""
            b_o, b_t = min(ours), min(theirs)
            print(f"| {os.path.basename(f)} | {mode} | {b_o:.4f} | {b_t:.4f} | {b_t / b_o:.1f}× | {rss[0]} | {rss[1]} |", flush=True)
        if a.swr:
            lag, mean, mx, n_swr, n_ref = swr_difference(f)
            print(f"swr vs torchaudio, {os.path.basename(f)}: lag {lag}, mean abs {mean:.3g}, max abs {mx:.3g}, lengths {n_swr} vs {n_ref}")


if __name__ == "__main__":
    main()
