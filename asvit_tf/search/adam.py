"""Adam (Kingma and Ba, 2015) on a list of numpy arrays, state in the open.

Same update as torch.optim.Adam with its defaults (betas 0.9/0.999, eps 1e-8,
no weight decay), which the authors' search used at lr 0.08.
"""

import dataclasses
from typing import List

import numpy as np


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
