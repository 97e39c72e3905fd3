"""Where the training tasks spend their time: one MLP lottery seed, one CNN seed, the CartPole task.

    .venv/bin/python benchmarks/profile_tasks.py [--only mlp,cnn,cartpole] [--rounds N]
                                                 [--profile full|quick] [--cprofile] [--tag NAME]
                                                 [--seed S] [--batch-size B] [--learning-rate LR]

Each task runs as the build runs it (one thread, the chapter's config), with its stages wrapped
in timers: for the lottery, the dense task (round 0) and the pruning-rounds task, and within
them training steps, pruning and evaluation; for CartPole, the DQN's own
training, its checkpoint scoring, the recorded episodes, distillation, candidate scoring, the
DAgger episodes and the rest of the pruning loop. `--rounds N` cuts the lottery to N rounds (a
quicker look; its times are not the task's); `--seed`, `--batch-size`, `--learning-rate` and
`--final-learning-rate` (for CartPole `--distil-steps`, `--distil-batch-size`,
`--distil-learning-rate`) run another seed or a what-if setting (the validation accuracy of the last
round says whether it holds). `--cprofile` adds the top entries by own time.
Wall seconds and the process's CPU seconds (the machine is shared: CPU time is the steadier
number). Writes benchmarks/results/profile_tasks[-TAG].json (a record per task, with the seed's result
digest, so two runs of different code can be checked to give the same numbers).
"""
from __future__ import annotations

import argparse
import cProfile
import contextlib
import dataclasses
import hashlib
import io
import json
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from generator.chapters import CHAPTERS  # noqa: E402


class Timers:
    """Wall and CPU seconds and calls per stage; a stage inside another counts in both (the report
    says which). The process is one thread, so its CPU time is the stage's own work."""
    def __init__(self):
        self.seconds, self.cpu, self.calls = defaultdict(float), defaultdict(float), defaultdict(int)

    def wrap(self, module, name: str, stage: str) -> None:
        real = getattr(module, name)

        def timed(*args, **kwargs):
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return real(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start
                self.cpu[stage] += time.process_time() - cpu
                self.calls[stage] += 1
        setattr(module, name, timed)
        self._undo.append((module, name, real))

    def __enter__(self):
        self._undo = []
        return self

    def __exit__(self, *exc):
        for module, name, real in reversed(self._undo):
            setattr(module, name, real)

    def report(self) -> dict:
        return {stage: {"seconds": round(self.seconds[stage], 2), "cpu_seconds": round(self.cpu[stage], 2),
                        "calls": self.calls[stage]} for stage in self.seconds}


def digest(result) -> str:
    """A hash of the task's record (less its timings) and arrays: equal digests, equal results."""
    record = {k: v for k, v in result.record.items() if k != "seconds"}
    h = hashlib.sha256(json.dumps(record, sort_keys=True).encode())
    for name in sorted(result.arrays):
        h.update(name.encode())
        h.update(result.arrays[name].tobytes())
    return h.hexdigest()[:16]


def top_entries(profile: cProfile.Profile, n: int = 25) -> list[str]:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(n)
    return [line for line in out.getvalue().splitlines() if line.strip()][-n - 1:]


def profile_lottery(chapter: str, profile: str, rounds: int | None, use_cprofile: bool, seed: int | None = None,
                    train: dict | None = None) -> dict:
    from generator.networks import prune as prune_module
    config = CHAPTERS[chapter].configs[profile]
    if rounds is not None:
        config = dataclasses.replace(config, prune=dataclasses.replace(config.prune, rounds=rounds))
    if train:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, **train))
    seed = config.seeds[0] if seed is None else seed
    prune_module.load_mnist(config.data)      # the data load is not the task's (cached per process)
    split = hasattr(prune_module, "train_dense")   # the dense round a task of its own (shared)
    evaluation = "scores" if hasattr(prune_module, "scores") else "accuracy"
    with Timers() as timers:
        timers.wrap(prune_module, "train_epochs", "training steps")
        timers.wrap(prune_module, "prune_lottery_round", "pruning")
        timers.wrap(prune_module, evaluation, f"evaluation ({evaluation}: validation + test, every round)")
        if split:
            timers.wrap(prune_module, "train_dense", "dense task (round 0)")
            timers.wrap(prune_module, "run_lottery", "pruning-rounds task")
        cp = cProfile.Profile() if use_cprofile else None
        start, cpu = time.perf_counter(), time.process_time()
        with (cp if cp else contextlib.nullcontext()):
            if split:
                result = prune_module.run_lottery(config, seed, prune_module.train_dense(config.dense(seed)))
            else:
                result = prune_module.run_lottery(config, seed)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
    last = result.record["rounds"][-1]
    out = {"chapter": chapter, "profile": profile, "seed": seed, "rounds": config.prune.rounds,
           "train": dataclasses.asdict(config.train),
           "seconds": round(total, 2), "cpu_seconds": round(cpu, 2), "stages": timers.report(), "digest": digest(result),
           "last_round": {k: last[k] for k in ("weights", "validation_accuracy", "test_accuracy")}}
    if cp:
        out["cprofile_top"] = top_entries(cp)
    return out


def profile_cartpole(profile: str, use_cprofile: bool, distil: dict | None = None) -> dict:
    from generator.chapters import cartpole_dqn
    from generator.networks import distil as distil_module
    from generator.networks import dqn as dqn_module
    config = CHAPTERS["cartpole-dqn"].configs[profile]
    if distil:
        config = dataclasses.replace(config, distil=dataclasses.replace(config.distil, **distil))
    seed = config.seeds[0]
    with Timers() as timers:
        timers.wrap(cartpole_dqn, "train_dqn", "DQN training (all, with checkpoint scoring)")
        timers.wrap(dqn_module, "passes", "DQN checkpoint scoring (inside training)")
        timers.wrap(cartpole_dqn, "episodes", "recorded episodes (distillation states, DAgger, evaluation)")
        timers.wrap(cartpole_dqn, "prune_and_distil", "pruning loop (all)")
        timers.wrap(distil_module, "distil", "distillation (inside the loop)")
        timers.wrap(cartpole_dqn, "passes", "candidate scoring (inside the loop)")
        timers.wrap(distil_module, "pruned_masks", "choosing masks (inside the loop)")
        timers.wrap(distil_module, "simplify_dead_units", "dead-unit folding (inside the loop)")
        timers.wrap(cartpole_dqn, "returns_vectorised", "stress episodes")
        cp = cProfile.Profile() if use_cprofile else None
        start, cpu = time.perf_counter(), time.process_time()
        with (cp if cp else contextlib.nullcontext()):
            result = cartpole_dqn.run_cartpole(config, seed)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
    record = result.record
    out = {"chapter": "cartpole-dqn", "profile": profile, "seed": seed, "distil": dataclasses.asdict(config.distil),
           "seconds": round(total, 2),
           "cpu_seconds": round(cpu, 2), "stages": timers.report(), "digest": digest(result),
           "result": {"weights_per_layer": record["weights_per_layer"], "training": record["training"],
                      "candidates": len(record["rounds"]) - 1,
                      "accepted": sum(r["accepted"] for r in record["rounds"]) - 1,
                      "evaluation_returns_min": min(record["evaluation_returns"]),
                      "stress": record["stress"], "seconds": record["seconds"]}}
    if cp:
        out["cprofile_top"] = top_entries(cp)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="mlp,cnn,cartpole")
    parser.add_argument("--profile", default="full", choices=("full", "quick"))
    parser.add_argument("--rounds", type=int, default=None, help="lottery rounds (default: the config's)")
    parser.add_argument("--seed", type=int, default=None, help="lottery seed (default: the config's first)")
    parser.add_argument("--batch-size", type=int, default=None, help="lottery batch size (a what-if)")
    parser.add_argument("--learning-rate", type=float, default=None, help="lottery learning rate (a what-if)")
    parser.add_argument("--final-learning-rate", type=float, default=None, help="last round's (a what-if)")
    parser.add_argument("--distil-steps", type=int, default=None, help="CartPole distillation steps (a what-if)")
    parser.add_argument("--distil-batch-size", type=int, default=None, help="... and its batch size")
    parser.add_argument("--distil-learning-rate", type=float, default=None, help="... and its learning rate")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    torch.set_num_threads(1)    # as the build's workers
    train = {k: v for k, v in (("batch_size", args.batch_size), ("learning_rate", args.learning_rate),
                               ("final_learning_rate", args.final_learning_rate)) if v is not None}
    lottery = {"mlp": "mnist-mlp-lth", "dense-first": "mnist-mlp-lth-dense-first", "cnn": "mnist-cnn"}
    tasks = {**{name: (lambda chapter=chapter: profile_lottery(chapter, args.profile, args.rounds, args.cprofile,
                                                               args.seed, train))
                for name, chapter in lottery.items()},
             "cartpole": lambda: profile_cartpole(args.profile, args.cprofile, {
                 k: v for k, v in (("steps", args.distil_steps), ("batch_size", args.distil_batch_size),
                                   ("learning_rate", args.distil_learning_rate)) if v is not None})}
    records = {}
    for name in args.only.split(","):
        records[name] = tasks[name]()
        print(json.dumps({name: {k: v for k, v in records[name].items() if k != "cprofile_top"}}, indent=1),
              flush=True)
    out = REPO / "benchmarks" / "results" / f"profile_tasks{'-' + args.tag if args.tag else ''}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), **records},
                              indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
