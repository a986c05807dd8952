"""REINFORCE policy: one independent categorical per dimension (Sec. 3.3),
and the Adam optimizer of its logits.

Plain numpy so that the whole state (logits, Adam moments, generator) is a
handful of floats that round-trip exactly through JSON.
"""

import dataclasses
from typing import List, Sequence, Tuple

import numpy as np

LOGIT_INIT_STD = 1e-3  # "logits initialised near zero", as the authors' code.


def _softmax(logits: np.ndarray) -> np.ndarray:
  shifted = np.exp(logits - logits.max())
  return shifted / shifted.sum()


class CategoricalPolicy:
  """Independent categoricals over dimensions of the given sizes."""

  def __init__(self, logits: Sequence[Sequence[float]]):
    self.logits = [np.asarray(l, dtype=np.float64) for l in logits]

  @classmethod
  def initial(cls, sizes: Sequence[int], seed: int) -> 'CategoricalPolicy':
    """Logits drawn from N(0, 1e-3^2), seeded."""
    rng = np.random.default_rng(seed)
    return cls([LOGIT_INIT_STD * rng.standard_normal(n) for n in sizes])

  def probabilities(self) -> List[np.ndarray]:
    return [_softmax(l) for l in self.logits]

  def entropy(self) -> float:
    """Sum of the per-dimension entropies, in nats."""
    return float(sum(-(p * np.log(p)).sum() for p in self.probabilities()))

  def sample(self, rng: np.random.Generator) -> Tuple[int, ...]:
    """One action per dimension by inverting the CDF at uniform draws."""
    draws = rng.random(len(self.logits))
    return tuple(
        min(int(np.searchsorted(np.cumsum(p), u, side='right')), len(p) - 1)
        for p, u in zip(self.probabilities(), draws))

  def log_prob(self, actions: Sequence[int]) -> float:
    return float(sum(np.log(p[a])
                     for p, a in zip(self.probabilities(), actions)))

  def log_prob_gradient(self, actions: Sequence[int]) -> List[np.ndarray]:
    """d log pi(actions) / d logits: one-hot(action) - probabilities."""
    grads = []
    for p, a in zip(self.probabilities(), actions):
      g = -p
      g[a] += 1.0
      grads.append(g)
    return grads

  def argmax(self) -> Tuple[int, ...]:
    """The most probable action per dimension (first on ties)."""
    return tuple(int(np.argmax(l)) for l in self.logits)


# Adam (Kingma and Ba, 2015) with torch.optim.Adam's defaults (betas
# 0.9/0.999, eps 1e-8, no weight decay), which the authors' search used at
# lr 0.08.
@dataclasses.dataclass
class Adam:
  """Adam moments and step count; `step` updates parameters in place."""
  learning_rate: float
  m: List[np.ndarray]
  v: List[np.ndarray]
  t: int = 0
  beta1: float = 0.9
  beta2: float = 0.999
  epsilon: float = 1e-8

  @classmethod
  def zeros_like(cls, params: List[np.ndarray],
                 learning_rate: float) -> 'Adam':
    return cls(learning_rate, [np.zeros_like(p) for p in params],
               [np.zeros_like(p) for p in params])

  def step(self, params: List[np.ndarray], grads: List[np.ndarray]) -> None:
    """One descent step on `params` along the loss gradients `grads`."""
    self.t += 1
    correction1 = 1.0 - self.beta1 ** self.t
    correction2 = 1.0 - self.beta2 ** self.t
    for p, g, m, v in zip(params, grads, self.m, self.v):
      m *= self.beta1
      m += (1.0 - self.beta1) * g
      v *= self.beta2
      v += (1.0 - self.beta2) * g * g
      p -= self.learning_rate * (m / correction1) / (
          np.sqrt(v / correction2) + self.epsilon)
