"""Training-free topology search, Algorithm 1 (Sec. 3.3).

Per step: sample a topology (L=1 each, C=32) from the policy, measure L_E and
the NTK condition number, turn their normalized changes into a reward, update
the moving-average baseline with it, and take one Adam step on
`-log pi(a) * (reward - baseline)`, in the authors' order. After the last step
the arg-max topology of the policy is the result.

The reward (Algorithm 1, lines 5-6, with the authors' details): each metric
becomes its change relative to the range of recent values,
`(x_t - x_{t-1}) / (max - min over the last `window` values + 1e-6)` (the
window includes x_t), and the reward is `dL_E - dkappa`: L_E higher is better,
the NTK condition number lower. The first step gets reward 0. A non-finite
value marks a bad architecture: it counts as the worst finite value seen so
far in the whole run (largest kappa, smallest L_E), and as later values widen
that worst case it follows them, as the authors' buffer does. The baseline is
a moving average with momentum 0.9 and the authors' bias correction.

`Search` holds the whole state and converts to and from a JSON-ready dict, so
a resumed run continues bit for bit; `python -m asvit_tf.search` runs it in a
model_dir through asvit_tf.job.
"""

import dataclasses
import math
import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from asvit_tf import counting
from asvit_tf import job as job_lib
from asvit_tf import plots
from asvit_tf.complexity import metric as metric_lib
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.search import policy as policy_lib
from asvit_tf.search import space

WINDOW = 20
EPSILON = 1e-6


def effective_values(values: Sequence[float], higher_is_better: bool
                     ) -> List[float]:
  """`values` with non-finite entries replaced by the worst finite one.

  Returns NaN entries only while no finite value exists at all.
  """
  finite = [v for v in values if math.isfinite(v)]
  if not finite:
    return [math.nan] * len(values)
  worst = min(finite) if higher_is_better else max(finite)
  return [v if math.isfinite(v) else worst for v in values]


def normalized_change(values: Sequence[float], window: int = WINDOW) -> float:
  """(x_t - x_{t-1}) / (range of the last `window` values + 1e-6); 0 at t=0."""
  if len(values) < 2 or not all(math.isfinite(v) for v in values[-2:]):
    return 0.0
  recent = [v for v in values[-window:] if math.isfinite(v)]
  return (values[-1] - values[-2]) / (max(recent) - min(recent) + EPSILON)


def step_reward(length_distortions: Sequence[float],
                condition_numbers: Sequence[float],
                window: int = WINDOW) -> float:
  """Reward of the latest step from the whole history of both metrics."""
  d_length = normalized_change(
      effective_values(length_distortions, higher_is_better=True), window)
  d_kappa = normalized_change(
      effective_values(condition_numbers, higher_is_better=False), window)
  return d_length - d_kappa


@dataclasses.dataclass
class MovingAverage:
  """Exponential moving average with bias correction (numerator/denominator)."""
  momentum: float
  numerator: float = 0.0
  denominator: float = 0.0

  def update(self, value: float) -> None:
    self.numerator = (self.momentum * self.numerator +
                      (1 - self.momentum) * value)
    self.denominator = (self.momentum * self.denominator +
                        (1 - self.momentum))

  @property
  def value(self) -> float:
    return self.numerator / self.denominator


@dataclasses.dataclass(frozen=True)
class SearchConfig:
  """Settings that decide the result (stored with the state)."""
  steps: int = 500
  learning_rate: float = 0.08
  baseline_momentum: float = 0.9
  reward_window: int = WINDOW
  seed: int = 0
  image_size: int = 224


class Search(job_lib.Algorithm):
  """Policy, optimizer, baseline, sampler and history of one search."""

  NAME = job_lib.SEARCH

  def __init__(self, config: SearchConfig,
               state: Optional[Dict[str, Any]] = None):
    self.config = config
    if state is None:
      self.policy = policy_lib.CategoricalPolicy.initial(
          space.SIZES,
          job_lib.derive_seed(config.seed, job_lib.POLICY_INIT_STREAM))
      self.optimizer = policy_lib.Adam.zeros_like(self.policy.logits,
                                                  config.learning_rate)
      self.baseline = MovingAverage(config.baseline_momentum)
      self.sampler = job_lib.generator(config.seed, job_lib.SAMPLER_STREAM)
      self.history: List[Dict[str, Any]] = []
      self.final: Optional[Dict[str, Any]] = None
      return
    self.policy = policy_lib.CategoricalPolicy(state['logits'])
    self.optimizer = policy_lib.Adam(
        config.learning_rate, [np.asarray(m) for m in state['adam']['m']],
        [np.asarray(v) for v in state['adam']['v']], state['adam']['t'])
    self.baseline = MovingAverage(config.baseline_momentum,
                                  **state['baseline'])
    self.sampler = np.random.default_rng()
    self.sampler.bit_generator.state = state['sampler']
    self.history = state['history']
    self.final = state['final']

  def to_state(self) -> Dict[str, Any]:
    return {
        'logits': [l.tolist() for l in self.policy.logits],
        'adam': {'m': [m.tolist() for m in self.optimizer.m],
                 'v': [v.tolist() for v in self.optimizer.v],
                 't': self.optimizer.t},
        'baseline': {'numerator': self.baseline.numerator,
                     'denominator': self.baseline.denominator},
        'sampler': self.sampler.bit_generator.state,
        'history': self.history,
        'final': self.final,
    }

  @property
  def steps_done(self) -> int:
    return len(self.history)

  @property
  def done(self) -> bool:
    return self.final is not None

  def step(self, metric: metric_lib.MetricFn) -> Dict[str, Any]:
    """Samples, measures and updates once; returns the step's record."""
    entropy = self.policy.entropy()
    actions = self.policy.sample(self.sampler)
    arch = space.decode(actions)
    metric_seed = job_lib.derive_seed(self.config.seed, job_lib.METRICS_STREAM,
                                      self.steps_done)
    start = time.perf_counter()
    length, kappa = metric(arch, metric_seed)
    seconds = time.perf_counter() - start
    lengths = [r['l_e'] for r in self.history] + [length]
    kappas = [r['ntk'] for r in self.history] + [kappa]
    reward = step_reward(lengths, kappas, self.config.reward_window)
    self.baseline.update(reward)
    advantage = reward - self.baseline.value
    log_prob = self.policy.log_prob(actions)
    grads = [-advantage * g for g in self.policy.log_prob_gradient(actions)]
    self.optimizer.step(self.policy.logits, grads)
    record = {
        'step': self.steps_done + 1,
        'arch': arch_lib.format_arch(arch),
        'actions': list(actions),
        'l_e': float(length),
        'ntk': float(kappa),
        'bad': not (math.isfinite(length) and math.isfinite(kappa)),
        'reward': reward,
        'baseline': self.baseline.value,
        'log_prob': log_prob,
        'entropy': entropy,
        'params': counting.arch_params(arch),
        'gmacs': counting.arch_macs(arch, self.config.image_size) / 1e9,
        'metric_seed': metric_seed,
        'seconds': seconds,
    }
    self.history.append(record)
    return record

  def best_arch(self) -> arch_lib.ArchSpec:
    """Algorithm 1, line 8: the topology of highest probability."""
    return space.decode(self.policy.argmax())

  def measure_final(self, metric: metric_lib.MetricFn) -> Dict[str, Any]:
    """Measures the arg-max topology once (seed after the last step)."""
    arch = self.best_arch()
    length, kappa = metric(arch, job_lib.derive_seed(
        self.config.seed, job_lib.METRICS_STREAM, self.config.steps))
    self.final = {
        'arch': arch_lib.format_arch(arch),
        'l_e': float(length),
        'ntk': float(kappa),
        'params': counting.arch_params(arch),
        'gmacs': counting.arch_macs(arch, self.config.image_size) / 1e9,
        'entropy': self.policy.entropy(),
        'probabilities': {
            d.name: dict(zip(map(str, d.choices), p.tolist()))
            for d, p in zip(space.DIMENSIONS, self.policy.probabilities())},
    }
    return self.final

  def resume_line(self) -> str:
    return f'after step {self.steps_done}/{self.config.steps}'

  def advance(self, metric: metric_lib.MetricFn, reporter: job_lib.Reporter,
              save: Callable[[], None]) -> Optional[Dict[str, Any]]:
    del reporter, save  # A search step is saved whole.
    if self.steps_done >= self.config.steps:
      return None
    return self.step(metric)

  def report(self, reporter: job_lib.Reporter,
             record: Dict[str, Any]) -> None:
    total = self.config.steps
    left = job_lib.eta([r['seconds'] for r in self.history],
                       total - record['step'])
    reporter.line(
        f'step {record["step"]}/{total} | ETA '
        f'{job_lib.format_duration(left)} | reward {record["reward"]:+.3f} | '
        f'entropy {record["entropy"]:.2f} | '
        f'L_E {job_lib.format_number(record["l_e"])} | '
        f'NTK {job_lib.format_number(record["ntk"])} | '
        f'params {record["params"] / 1e6:.2f}M | '
        f'{short_arch(record["arch"])} ({record["seconds"]:.1f}s)')
    reporter.scalars(record['step'], {
        'search/reward': record['reward'],
        'search/baseline': record['baseline'],
        'search/entropy': record['entropy'],
        'metrics/length_distortion': record['l_e'],
        'metrics/ntk_condition_number': record['ntk'],
        'cost/params': record['params'],
        'cost/gmacs': record['gmacs'],
        'time/step_seconds': record['seconds'],
    })

  def finish(self, metric: metric_lib.MetricFn,
             settings: Dict[str, Any]) -> Dict[str, Any]:
    if not self.done:
      self.measure_final(metric)
    return dict(self.final, arch_short=short_arch(self.final['arch']),
                settings=settings, history=self.history,
                search_seconds=sum(r['seconds'] for r in self.history))

  def write_outputs(self, result: Dict[str, Any], model_dir: str) -> str:
    plots.entropy_curve([r['step'] for r in self.history],
                        [r['entropy'] for r in self.history],
                        os.path.join(model_dir, job_lib.ENTROPY_PLOT))
    return (f'searched topology {result["arch_short"]} (L_E '
            f'{job_lib.format_number(result["l_e"])}, NTK '
            f'{job_lib.format_number(result["ntk"])}, entropy '
            f'{result["entropy"]:.2f}); results in {model_dir}')


def short_arch(text: str) -> str:
  """The authors' short form (no L, no C) of a sampled topology."""
  arch = arch_lib.parse_arch(text)
  stages = '|'.join(f'{s.kernel},{s.splits},{s.expansion}' for s in arch.stages)
  return f'{stages}|{arch.heads}'
