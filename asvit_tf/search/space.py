"""The Table 1 search space as independent categorical dimensions (Sec. 3.3).

Thirteen dimensions, in this order: kernels K1..K4, splits S1..S4, FFN
expansions E1..E4, stage-4 heads. S4 has one choice (1): it is kept as a
one-choice dimension so the count matches the paper's "13"; it adds nothing
to the entropy (log 1 = 0) and its logit never receives a gradient, so the
distribution is the authors' 12-dimension one. The uniform policy's entropy
is ln 5 + 3 ln 3 + (2 ln 3 + ln 2) + 4 ln 5 + ln 3 = 15.33 nats, the 15.3 of
Sec. 3.3. Sampled topologies use one block per stage and C = 32.
"""

import dataclasses
from typing import Sequence, Tuple

from asvit_tf.modeling import arch as arch_lib

SAMPLE_WIDTH = 32


@dataclasses.dataclass(frozen=True)
class Dimension:
  """One categorical choice of Table 1."""
  name: str
  choices: Tuple[int, ...]


DIMENSIONS: Tuple[Dimension, ...] = (
    tuple(Dimension(f'K{n}', c)
          for n, c in enumerate(arch_lib.KERNEL_CHOICES, start=1)) +
    tuple(Dimension(f'S{n}', c)
          for n, c in enumerate(arch_lib.SPLIT_CHOICES, start=1)) +
    tuple(Dimension(f'E{n}', c)
          for n, c in enumerate(arch_lib.EXPANSION_CHOICES, start=1)) +
    (Dimension('heads', arch_lib.HEAD_CHOICES),))

SIZES: Tuple[int, ...] = tuple(len(d.choices) for d in DIMENSIONS)


def decode(actions: Sequence[int]) -> arch_lib.ArchSpec:
  """The topology (L=1 each, C=32) chosen by one index per dimension."""
  if len(actions) != len(DIMENSIONS):
    raise ValueError(f'{len(actions)} actions for {len(DIMENSIONS)} '
                     'dimensions')
  values = [d.choices[a] for d, a in zip(DIMENSIONS, actions)]
  n = arch_lib.NUM_STAGES
  stages = tuple(
      arch_lib.StageSpec(values[i], values[n + i], values[2 * n + i])
      for i in range(n))
  return arch_lib.ArchSpec(stages, values[3 * n], SAMPLE_WIDTH)


def encode(arch: arch_lib.ArchSpec) -> Tuple[int, ...]:
  """The action indices of a topology (its depths and width are ignored)."""
  values = ([s.kernel for s in arch.stages] + [s.splits for s in arch.stages] +
            [s.expansion for s in arch.stages] + [arch.heads])
  return tuple(d.choices.index(v) for d, v in zip(DIMENSIONS, values))


def finest_splits_arch() -> arch_lib.ArchSpec:
  """The topology with the most splits per stage (for image-size checks)."""
  return decode(tuple(
      len(d.choices) - 1 if d.name.startswith('S') else 0 for d in DIMENSIONS))


def largest_tensors_arch() -> arch_lib.ArchSpec:
  """The topology with the largest tensors: the fewest and so largest
  attention windows, the most heads, the widest FFNs and the largest kernels.
  Measured first, it grows TF's CPU memory pool as far as a search needs."""
  return decode(tuple(
      0 if d.name.startswith('S') else len(d.choices) - 1 for d in DIMENSIONS))
