"""Other domains, reinforcement learning: a DQN agent on CartPole-v1, pruned while it keeps the
maximal score, drawn as its exact flowgraph, and followed step by step along a recorded episode.
The post found that its pruned agent ignored the cart's velocity; the build states what ours
ignores, either way."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from generator.site import charts
from generator.networks.cartpole import (INPUT_NAMES, MAX_STEPS, OUTPUT_NAMES, THETA_THRESHOLD, X_THRESHOLD, episodes, greedy,
                        returns_vectorised, start_state)
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, Task, TaskResult, Upstream, figure_entries
from generator.networks.config import require
from generator.networks.distil import DistilConfig, prune_and_distil
from generator.networks.dqn import DQNConfig, passes, state_arrays, train_dqn
from generator.pipeline.errors import BuildError
from generator.flowgraph.export import flowgraph_document, validate, witnesses_file
from generator.flowgraph.graph import check_exact, constant_outputs, flowgraph_from_sequential, ignored_inputs, simplify
from generator.flowgraph.exact import ExactConfig, exact_bounds, tighten, witnesses_document
from generator.flowgraph.layout import layout_flowgraph
from generator.networks.models import mlp
from generator.networks.config import MLPConfig
from generator.pipeline.paths import chapter_data

ID = "cartpole-dqn"


@dataclass(frozen=True)
class CartPoleExperiment:
    seeds: tuple[int, ...] = (0,)
    dqn: DQNConfig = field(default_factory=DQNConfig)
    distil: DistilConfig = field(default_factory=DistilConfig)
    # Disjoint seed sets: every choice (checkpoint, acceptance) on validation; evaluation and the
    # stress episodes are only reported.
    validation_seeds: tuple[int, int] = (1000, 50)        # first seed, count
    evaluation_seeds: tuple[int, int] = (0, 20)
    stress_seeds: tuple[int, int] = (2000, 200)
    distil_seeds: tuple[int, int] = (50_000, 20)          # teacher episodes for the distillation states
    noisy_seeds: tuple[int, int] = (50_100, 20)           # ... and with 20% random actions
    box_states: int = 2000                                # ... and states drawn from the reset box
    dagger_seed: int = 60_000
    # The box the graph's bounds hold on: the episode ends beyond |x| = 2.4 and |θ| = 12°, so
    # the policy never acts there; the velocities have no such limit, and these are about five
    # times the largest the agent meets (the build checks every recorded state is inside).
    velocity_limits: tuple[float, float] = (3.0, 3.5)

    def __post_init__(self):
        require(len(self.seeds) >= 1 and all(isinstance(s, int) and s >= 0 for s in self.seeds),
                "seeds", "a tuple of integers >= 0", self.seeds)

    def seed_range(self, which: str) -> list[int]:
        first, count = getattr(self, which)
        return list(range(first, first + count))

    @property
    def input_box(self) -> list[tuple[float, float]]:
        v, w = self.velocity_limits
        return [(-X_THRESHOLD, X_THRESHOLD), (-v, v), (-THETA_THRESHOLD, THETA_THRESHOLD), (-w, w)]


CONFIGS = {
    "full": CartPoleExperiment(),
    # Quick: a short training run that may not balance the pole, a few cheap pruning rounds.
    "quick": CartPoleExperiment(
        dqn=DQNConfig(steps=8192, check_every=4096, attempts=1),
        distil=DistilConfig(shares=(0.3,), steps=300, max_rounds=3),
        validation_seeds=(1000, 10), evaluation_seeds=(0, 5), stress_seeds=(2000, 10),
        distil_seeds=(50_000, 3), noisy_seeds=(50_100, 3), box_states=200,
    ),
}

# The budget of exact bounds per profile (generator/flowgraph/exact.py). The full agent's 13
# weights take a few programs; the quick agent, pruned for 3 cheap rounds, keeps undecided ReLUs
# enough for 26 s of programs, which its tests do not need.
EXACT = {"full": ExactConfig(), "quick": ExactConfig(max_binaries=8)}

# Figures of the 2020 post (shared/seeds/000), quoted in the text.
POST = {"post_ignored_input": "cart velocity"}


def run_cartpole(config: CartPoleExperiment, seed: int) -> TaskResult:
    """Train the agent, prune it, score it: weights of teacher and student, and the record."""
    start = time.perf_counter()
    validation = config.seed_range("validation_seeds")
    teacher, training = train_dqn(config.dqn, seed, validation)
    trained = time.perf_counter()
    # What to distil on: the teacher's own episodes, some with random actions, and start states.
    rng = np.random.default_rng(seed)
    recorded = episodes(greedy(teacher), config.seed_range("distil_seeds"))
    recorded += episodes(greedy(teacher), config.seed_range("noisy_seeds"), epsilon=0.2, rng=rng)
    box = rng.uniform(-0.05, 0.05, size=(config.box_states, 4)).astype(np.float32)
    states = torch.as_tensor(np.concatenate([e.observations for e in recorded] + [box]))
    # The score to keep: the time limit on every validation episode (or, when training did not
    # reach it, as in the quick profile, what the teacher scores).
    target = min(MAX_STEPS, training["validation_mean_return"])
    student, rounds = prune_and_distil(
        teacher, states, config.distil, seed,
        passes=lambda net: passes(net, validation, config.dqn.cart_margin, target),
        visited_states=lambda net, r: np.concatenate([e.observations for e in episodes(
            greedy(net), range(config.dagger_seed + 10 * r, config.dagger_seed + 10 * r + 10))]))
    pruned = time.perf_counter()
    evaluation = episodes(greedy(student), config.seed_range("evaluation_seeds"))
    stress, _ = returns_vectorised(greedy(student), config.seed_range("stress_seeds"))
    record = {
        "seed": seed, "training": training, "target": target, "rounds": rounds,
        "weights_per_layer": [int(np.count_nonzero(layer.weight.detach().numpy())) for layer in student if
                              isinstance(layer, torch.nn.Linear)],
        "evaluation_returns": [e.ret for e in evaluation],
        "stress": {"episodes": len(stress), "mean_return": float(stress.mean()), "below_max": int((stress < MAX_STEPS).sum())},
        "seconds": {"train": round(trained - start, 1), "prune": round(pruned - trained, 1)},
    }
    return TaskResult(record=record, arrays={**state_arrays(teacher, "teacher"), **state_arrays(student, "student")})


def network(config: CartPoleExperiment, result: TaskResult, which: str) -> torch.nn.Sequential:
    net = mlp(MLPConfig(layer_sizes=(4, *config.dqn.hidden, 2)))
    state = {k.split(".", 1)[1]: torch.from_numpy(v) for k, v in result.arrays.items() if k.startswith(which + ".")}
    net.load_state_dict(state)
    return net.eval()


def verify_cartpole(config: CartPoleExperiment, seed: int, result: TaskResult) -> None:
    """A cached result is trusted only if its weights are finite, count as recorded, and its
    policy still scores the recorded returns in gymnasium."""
    if result.record.get("seed") != seed:
        raise BuildError(f"the record is of seed {result.record.get('seed')}, expected {seed}")
    try:
        student = network(config, result, "student")
        network(config, result, "teacher")
    except (RuntimeError, KeyError) as e:
        raise BuildError(f"weights missing or of the wrong shape ({e})") from None
    layers = [layer.weight.detach().numpy() for layer in student if isinstance(layer, torch.nn.Linear)]
    if not all(np.isfinite(w).all() for w in layers):
        raise BuildError("weights are not all finite")
    counts = [int(np.count_nonzero(w)) for w in layers]
    if counts != result.record.get("weights_per_layer"):
        raise BuildError(f"{counts} nonzero weights per layer, but the record says {result.record.get('weights_per_layer')}")
    returns = [e.ret for e in episodes(greedy(student), config.seed_range("evaluation_seeds"))]
    if returns != result.record.get("evaluation_returns"):
        raise BuildError("the policy's evaluation returns recompute differently from the record")


def off_axis_text(rounds: list[dict]) -> str:
    """What the chart cannot show: candidates left with no weight at all (no place on a log axis)."""
    empty = [r for r in rounds if r["weights"] == 0]
    if not empty:
        return ""
    best = max(r["validation_mean_return"] for r in empty)
    return (f" Not drawn: {len(empty)} candidate{'s' if len(empty) > 1 else ''} whose distillation left no "
            f"weight at all (mean return at most {best:.1f}).")


def dqn_run_text(seed: int, training: dict) -> str:
    """Which training run the agent comes from, in the run table's terms: the task is seed N, and
    its k-th attempt trains DQN with seed N + 1000 k (generator/networks/dqn.py)."""
    attempt = training["attempt"]
    if attempt == 0:
        return f"the run of seed {seed} (the `seed-{seed}` row below), on its first attempt"
    ordinal = {1: "second", 2: "third", 3: "fourth"}.get(attempt, f"{attempt + 1}th")
    return (f"the run of seed {seed} (the `seed-{seed}` row below), on its {ordinal} attempt, which trains "
            f"DQN with seed {training['dqn_seed']}")


def tasks(config: CartPoleExperiment, upstream: dict[str, Upstream]) -> list[Task]:
    # cost: the full profile's run took about 130 s (benchmarks/build_times.py), the longest task
    # of the report's first chapters: started first, it runs beside the others, not after them.
    return [Task(f"seed-{seed}", run_cartpole, (config, seed), verify=verify_cartpole, cost=130.0)
            for seed in config.seeds]


FIGURES = {
    "return-vs-weights": Figure(
        "altair", "The score as the agent is pruned",
        "Mean return over the {validation_episodes} validation episodes of every pruning candidate against "
        "its kernel weights (log scale, fewer to the right); filled: kept, hollow: rejected (an episode ended "
        "before step {max_steps}, or the cart went past ±{cart_margin}) and tried again with a smaller step. "
        "{max_steps} is the most an episode can return.{off_axis}"),
    "flowgraph": Figure(
        "flowgraph", "The pruned agent as an exact flowgraph",
        "The {vertices} vertices and {edges} edges. {inputs_caption}; the two "
        "outputs are its Q-values, and it pushes the cart towards the larger. Bounds hold on every state "
        "with |x| ≤ {track_limit}, |θ| ≤ {angle_limit} (the episode ends beyond) and velocities within the box "
        "in the text.",
        {"output": "all", "sample": "none"}),
    "episode": Figure(
        "episode", "The agent's graph along one episode",
        "Evaluation episode {episode_seed}, step by step: the cart and pole, the graph evaluated on the state "
        "the agent saw, and the push it chose. Drag the slider, or play.",
        {"step": "0"}),
    "balance": Figure(
        "balance", "Balance the pole yourself",
        "The page runs CartPole itself, with gymnasium's equations, 50 steps a second, and the graph drawn "
        "here as the agent: run it, nudge the cart with the buttons or the arrow keys (a push of 10 N for 0.1 s on top of the "
        "agent's), and watch the graph recover or fail. Restart from any evaluation seed's start state.",
        {"seed": "0"}),
}


def assemble(config: CartPoleExperiment, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    # The sparsest agent that passed (all did on validation); ties: the smaller seed.
    seed = min(config.seeds, key=lambda s: (sum(results[f"seed-{s}"].record["weights_per_layer"]), s))
    result = results[f"seed-{seed}"]
    record = result.record
    student = network(config, result, "student")
    raw = flowgraph_from_sequential(student, config.input_box, INPUT_NAMES, OUTPUT_NAMES)
    interval = simplify(raw)
    # exact bounds over the whole box, each with the state that attains it (a handful of programs)
    profile = next((p for p, c in CONFIGS.items() if c == config), "full")
    bounds = exact_bounds(interval, np.array(config.input_box)[:, 0], EXACT[profile])
    graph = tighten(interval, bounds)
    witnesses = witnesses_document(graph, bounds)
    shown = episodes(greedy(student), config.seed_range("evaluation_seeds"))
    # The states the agent acted on (not the one after its last step, where the episode ended).
    observations = np.concatenate([e.observations[:-1] for e in shown])
    box = np.array(config.input_box)
    outside = (observations < box[:, 0]) | (observations > box[:, 1])
    if outside.any():
        raise BuildError(f"a recorded state lies outside the graph's input box {config.input_box}: "
                         f"widen velocity_limits in {__name__}")
    # Exact on every state the agent met, and on states spread over the whole box.
    spread = np.random.default_rng(0).uniform(box[:, 0], box[:, 1], size=(20_000, 4)).astype(np.float32)
    _, exact_recorded = check_exact(graph, student, torch.as_tensor(observations))
    _, exact_box = check_exact(graph, student, torch.as_tensor(spread))
    graph = layout_flowgraph(graph, (4,))
    ignored = [INPUT_NAMES[int(i[1:])] for i in ignored_inputs(raw, graph)]
    constants = constant_outputs(graph)
    episode = shown[0]
    accepted = [r for r in record["rounds"] if r["accepted"]]
    dense = record["rounds"][0]["weights"]
    paths = {"flowgraph": chapter_data(ID, "flowgraph.json"), "episode": chapter_data(ID, "episode.json"),
             "witnesses": chapter_data(ID, "witnesses.json"),
             "return-vs-weights": chapter_data(ID, "return-vs-weights.vl.json")}
    documents = {
        paths["flowgraph"]: flowgraph_document(ID, graph, [4], sum(record["weights_per_layer"]), constants,
                                               round_number=accepted[-1]["round"]),
        paths["episode"]: validate({
            "schema_version": 2, "experiment": ID, "flowgraph": "flowgraph.json", "seed": episode.seed,
            "return": episode.ret, "input_names": INPUT_NAMES, "output_names": OUTPUT_NAMES,
            "states": [[float(v) for v in s] for s in episode.states],
            "observations": [[float(v) for v in o] for o in episode.observations],
            "actions": [int(a) for a in episode.actions],
            "starts": [{"seed": s, "state": [float(v) for v in start_state(s)]} for s in config.seed_range("evaluation_seeds")],
        }, "episode"),
        paths["return-vs-weights"]: charts.return_vs_weights(record["rounds"], MAX_STEPS),
        paths["witnesses"]: witnesses_file(ID, "flowgraph.json", witnesses),
    }
    returns = record["evaluation_returns"]
    names = " and ".join(ignored)
    ignored_phrase = f"it ignores {names}" if ignored else "it uses all four inputs"
    ignored_text = (f"It ignores {names}: no path leads from {'it' if len(ignored) == 1 else 'them'} to an output."
                    if ignored else "It uses all four inputs: each has a path to an output.")
    facts = {
        **POST,
        "seed": str(seed), "seeds": ", ".join(map(str, config.seeds)), "seed_count": str(len(config.seeds)),
        "hidden": "-".join(map(str, config.dqn.hidden)), "dense_weights": f"{dense:,}",
        "dqn_steps": f"{config.dqn.steps:,}", "dqn_seed": str(record["training"]["dqn_seed"]),
        "dqn_run": dqn_run_text(seed, record["training"]),
        "dqn_step": f"{record['training']['step']:,}", "check_every": f"{config.dqn.check_every:,}",
        "teacher_validation": f"{record['training']['validation_mean_return']:.1f}",
        "validation_episodes": str(config.validation_seeds[1]), "evaluation_episodes": str(config.evaluation_seeds[1]),
        "stress_episodes": str(record["stress"]["episodes"]),
        "max_steps": str(MAX_STEPS), "cart_margin": f"{config.dqn.cart_margin:g}",
        "shares": ", ".join(f"{100 * s:g}%" for s in config.distil.shares), "distil_steps": f"{config.distil.steps:,}",
        "pruning_rounds": str(len(accepted) - 1), "candidates": str(len(record["rounds"]) - 1),
        "off_axis": off_axis_text(record["rounds"]),
        "weights": f"{sum(record['weights_per_layer']):,}",
        "weights_per_layer": ", ".join(map(str, record["weights_per_layer"])),
        "evaluation_mean_return": f"{np.mean(returns):.1f}", "evaluation_min_return": f"{min(returns):.0f}",
        "stress_mean_return": f"{record['stress']['mean_return']:.1f}",
        "stress_below_max": str(record["stress"]["below_max"]),
        "vertices": f"{len(graph['nodes']):,}", "edges": f"{len(graph['edges']):,}",
        "ignored_inputs_text": ignored_text, "ignored_inputs_phrase": ignored_phrase, "ignored_count": str(len(ignored)),
        "inputs_caption": (f"The inputs are the state the agent sees, less {names} (no path to an output, so not drawn)"
                           if ignored else "The four inputs are the state the agent sees"),
        "velocity_limit": f"{config.velocity_limits[0]:g}", "angular_velocity_limit": f"{config.velocity_limits[1]:g}",
        "recorded_states": f"{len(observations):,}", "max_q_error": f"{max(exact_recorded['max_logit_error'], exact_box['max_logit_error']):.1e}",
        "box_states": f"{len(spread):,}",
        "episode_seed": str(episode.seed), "episode_return": f"{episode.ret:.0f}",
        "track_limit": f"{X_THRESHOLD:g}", "angle_limit": f"{np.degrees(THETA_THRESHOLD):.0f}°",
    }
    data = {"return-vs-weights": {"spec": paths["return-vs-weights"]},
            "flowgraph": {"flowgraph": paths["flowgraph"], "witnesses": paths["witnesses"]},
            "episode": {"flowgraph": paths["flowgraph"], "episode": paths["episode"]},
            "balance": {"flowgraph": paths["flowgraph"], "episode": paths["episode"]}}
    manifest = {
        "kind": "dqn", "seeds": list(config.seeds), "selected_seed": seed,
        "rounds": [{"round": r["round"], "weights": r["weights"], "mean_return": r["validation_mean_return"]}
                   for r in accepted],
        "selected_round": accepted[-1]["round"], "flowgraph": paths["flowgraph"], "episode": paths["episode"],
        "witnesses": paths["witnesses"],
        "vertices": len(graph["nodes"]), "edges": len(graph["edges"]), "constant_outputs": constants,
        "ignored_inputs": ignored, "input_names": INPUT_NAMES, "output_names": OUTPUT_NAMES,
        "evaluation": {"episodes": len(returns), "mean_return": float(np.mean(returns))},
    }
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data), documents=documents, manifest=manifest)


def check_cartpole_output(config: CartPoleExperiment, results: dict[str, TaskResult], upstream: dict,
                          output: ChapterOutput) -> None:
    """What the chapter must say before it is published, cached or not: its seed, weights and
    returns are the task record's, its flowgraph is the pruned agent on the episode it shows and
    on states spread over the input box, and the episode's actions are the graph's choices."""
    seed = min(config.seeds, key=lambda s: (sum(results[f"seed-{s}"].record["weights_per_layer"]), s))
    record = results[f"seed-{seed}"].record
    facts, manifest = output.facts, output.manifest
    expected = {"seed": str(seed), "weights": f"{sum(record['weights_per_layer']):,}",
                "weights_per_layer": ", ".join(map(str, record["weights_per_layer"])),
                "evaluation_mean_return": f"{np.mean(record['evaluation_returns']):.1f}",
                "stress_mean_return": f"{record['stress']['mean_return']:.1f}"}
    for key, value in expected.items():
        if facts.get(key) != value:
            raise BuildError(f"fact {key} says {facts.get(key)!r}, the task record {value!r}")
    if manifest.get("selected_seed") != seed:
        raise BuildError("its manifest's seed is not the task's")
    student = network(config, results[f"seed-{seed}"], "student")
    graph = output.documents[manifest["flowgraph"]]
    episode = output.documents[manifest["episode"]]
    box = np.array(config.input_box)
    spread = np.random.default_rng(1).uniform(box[:, 0], box[:, 1], size=(2_000, 4)).astype(np.float32)
    states = np.concatenate([np.array(episode["observations"], dtype=np.float32), spread])
    try:
        check_exact(graph, student, torch.as_tensor(states))
    except BuildError as e:
        raise BuildError(f"{manifest['flowgraph']}: {e}") from None
    with torch.no_grad():
        actions = student(torch.as_tensor(np.array(episode["observations"][:len(episode["actions"])],
                                                   dtype=np.float32))).argmax(1).tolist()
    if actions != episode["actions"]:
        raise BuildError(f"{manifest['episode']}: its actions are not the agent's")


CHAPTER = Chapter(
    id=ID,
    title="Other domains: CartPole",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check_cartpole_output,
    headline="a DQN agent pruned from {dense_weights} to {weights} weights still scores {evaluation_mean_return} "
             "of {max_steps} on {evaluation_episodes} evaluation episodes, and {ignored_inputs_phrase}",
    key_figure="episode",
)
