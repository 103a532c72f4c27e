"""
Pong training throughput of two code versions, interleaved in one run: ours (this checkout) and a baseline checkout
(for example ``git worktree add /tmp/before <commit>``). Each repetition runs each version's own
``benchmarks/speed/pong_throughput.py`` once (one repetition, no memory measurement), alternating which goes first, so both
see the same machine. Reported: per version and env configuration, the median [min, max] of training / raw emulator
(both measured in the same repetition of the same version), and the median ratio of ours to the baseline's.

    git worktree add /tmp/before <commit>
    python benchmarks/speed/pong_throughput_ab.py --baseline /tmp/before --reps 5

Outputs in benchmarks/results/ (or --out): pong_throughput_ab.csv, pong_throughput_ab.md.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from sb3_vpg.common.files import replaced_whole, write_text_whole

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared.tables import median_range

HERE = Path(__file__).resolve().parents[2]


def one_repetition(tree: Path, configs: list[str], steps: int) -> dict[str, float]:
    """training / raw per configuration, from one repetition of ``tree``'s pong_throughput.py."""
    with tempfile.TemporaryDirectory() as out:
        # the script's place in either tree: benchmarks/speed/ since the scripts were grouped by subject
        script = next(p for p in (tree / "benchmarks" / "speed", tree / "benchmarks") if (p / "pong_throughput.py").exists())
        command = [sys.executable, str(script / "pong_throughput.py"), "--configs", *configs, "--reps", "1"]
        command += ["--steps", str(steps), "--no-memory", "--out", out]
        subprocess.run(command, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(tree)})
        with open(Path(out) / "pong_throughput.csv") as file:
            speed = {(row["what"], row["config"]): float(row["steps_per_s"]) for row in csv.DictReader(file)}
    return {config: speed["our-training", config] / speed["raw-emulator", config] for config in configs}


def commit(tree: Path) -> str:
    """The short commit hash of a checkout (with "+changes" where its tracked files differ from it)."""
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(tree), "diff", "--quiet", "HEAD"], capture_output=True).returncode != 0
    return (head.stdout.strip() or "unknown") + " +changes" * dirty


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="a checkout of the baseline version (its repository root)")
    parser.add_argument("--configs", nargs="+", default=["single", "vector-2", "vector-4"])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--out", default=str(HERE / "benchmarks" / "results"))
    args = parser.parse_args()
    versions = {"ours": HERE, "baseline": Path(args.baseline).resolve()}
    rows = []
    for rep in range(args.reps):
        order = list(versions) if rep % 2 == 0 else list(reversed(versions))
        for version in order:
            for config, ratio in one_repetition(versions[version], args.configs, args.steps).items():
                rows.append({"rep": rep, "version": version, "config": config, "training_over_raw": ratio})
                print(rows[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with replaced_whole(out / "pong_throughput_ab.csv") as temporary, open(temporary, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    def ratios(version: str, config: str) -> list[float]:
        return [row["training_over_raw"] for row in rows if row["version"] == version and row["config"] == config]

    lines = [
        f"# Pong training / raw emulator, two versions interleaved ({args.reps} repetitions of {args.steps} agent steps)",
        "",
        f"Machine: 2 cores; date {date.today()}; one torch thread. Ours: commit {commit(HERE)}; baseline: commit "
        f"{commit(versions['baseline'])}.",
        "Median [min, max] over the repetitions; the last column is the median over repetitions of ours / baseline.",
        "",
        "| env configuration | ours: training / raw | baseline: training / raw | ours / baseline |",
        "|---|---|---|---|",
    ]
    for config in args.configs:
        ours, baseline = ratios("ours", config), ratios("baseline", config)
        relative = [a / b for a, b in zip(ours, baseline, strict=True)]
        lines.append(f"| {config} | {median_range(ours)} | {median_range(baseline)} | {median_range(relative)} |")
    write_text_whole(out / "pong_throughput_ab.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
