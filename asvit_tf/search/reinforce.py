"""Training-free topology search, Algorithm 1 (Sec. 3.3).

Per step: sample a topology (L=1 each, C=32) from the policy, measure L_E and
the NTK condition number, turn their normalized changes into a reward
(asvit_tf.search.reward), update the moving-average baseline with it, and take
one Adam step on `-log pi(a) * (reward - baseline)`, in the authors' order.
After the last step the arg-max topology of the policy is the result.

`Search` holds the whole state and converts to and from a JSON-ready dict, so
a resumed run continues bit for bit.
"""

import dataclasses
import math
import time
from typing import Any, Dict, List, Optional

import numpy as np

from asvit_tf.modeling import arch as arch_lib
from asvit_tf.search import adam as adam_lib
from asvit_tf.search import cost
from asvit_tf.search import metric as metric_lib
from asvit_tf.search import policy as policy_lib
from asvit_tf.search import reward as reward_lib
from asvit_tf.search import seeds
from asvit_tf.search import space


@dataclasses.dataclass(frozen=True)
class SearchConfig:
  """Settings that decide the result (stored with the state)."""
  steps: int = 500
  learning_rate: float = 0.08
  baseline_momentum: float = 0.9
  reward_window: int = reward_lib.WINDOW
  seed: int = 0
  image_size: int = 224


class Search:
  """Policy, optimizer, baseline, sampler and history of one search."""

  def __init__(self, config: SearchConfig,
               state: Optional[Dict[str, Any]] = None):
    self.config = config
    if state is None:
      self.policy = policy_lib.CategoricalPolicy.initial(
          space.SIZES, seeds.derive(config.seed, seeds.POLICY_INIT))
      self.optimizer = adam_lib.Adam.zeros_like(self.policy.logits,
                                                config.learning_rate)
      self.baseline = reward_lib.MovingAverage(config.baseline_momentum)
      self.sampler = seeds.generator(config.seed, seeds.SAMPLER)
      self.history: List[Dict[str, Any]] = []
      self.final: Optional[Dict[str, Any]] = None
      return
    self.policy = policy_lib.CategoricalPolicy(state['logits'])
    self.optimizer = adam_lib.Adam(
        config.learning_rate, [np.asarray(m) for m in state['adam']['m']],
        [np.asarray(v) for v in state['adam']['v']], state['adam']['t'])
    self.baseline = reward_lib.MovingAverage(config.baseline_momentum,
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
    metric_seed = seeds.derive(self.config.seed, seeds.METRICS,
                               self.steps_done)
    start = time.perf_counter()
    length, kappa = metric(arch, metric_seed)
    seconds = time.perf_counter() - start
    lengths = [r['l_e'] for r in self.history] + [length]
    kappas = [r['ntk'] for r in self.history] + [kappa]
    reward = reward_lib.reward(lengths, kappas, self.config.reward_window)
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
        'params': cost.count_params(arch),
        'gmacs': cost.count_macs(arch, self.config.image_size) / 1e9,
        'metric_seed': metric_seed,
        'seconds': seconds,
    }
    self.history.append(record)
    return record

  def best_arch(self) -> arch_lib.ArchSpec:
    """Algorithm 1, line 8: the topology of highest probability."""
    return space.decode(self.policy.argmax())

  def finish(self, metric: metric_lib.MetricFn) -> Dict[str, Any]:
    """Measures the arg-max topology once (seed after the last step)."""
    arch = self.best_arch()
    length, kappa = metric(arch, seeds.derive(self.config.seed, seeds.METRICS,
                                              self.config.steps))
    self.final = {
        'arch': arch_lib.format_arch(arch),
        'l_e': float(length),
        'ntk': float(kappa),
        'params': cost.count_params(arch),
        'gmacs': cost.count_macs(arch, self.config.image_size) / 1e9,
        'entropy': self.policy.entropy(),
        'probabilities': {
            d.name: dict(zip(map(str, d.choices), p.tolist()))
            for d, p in zip(space.DIMENSIONS, self.policy.probabilities())},
    }
    return self.final


def short_arch(text: str) -> str:
  """The authors' short form (no L, no C) of a sampled topology."""
  arch = arch_lib.parse_arch(text)
  stages = '|'.join(f'{s.kernel},{s.splits},{s.expansion}' for s in arch.stages)
  return f'{stages}|{arch.heads}'
