"""Training-free auto-scaling, Algorithm 2 (Sec. 3.4): candidates and choice.

Candidates of one step: {add one block to stage 1, 2, 3 or 4} x {widen C by
5, 10, 15, 20 %}, in that order (stage-major). A widened C is rounded to the
nearest width that keeps every stage divisible by its heads (ties go to the
larger width); with 32 heads that is a multiple of 4, which is also what the
authors' code gets from tracking C/4 and rounding it. A rounded width may
equal the current one (then the candidate only deepens); candidates that end
up identical are kept once, first occurrence.

The choice: rank L_E descending and kappa ascending with dense ranks (equal
values share a rank, the next value gets the next rank), take the smallest
rank sum. If several share it, follow the metric whose relative range
`(max - min) / max` over the candidates is larger (NTK first when equal, the
authors' order) and take the best value of that metric among the tied ones;
remaining exact ties go to the first candidate. This is the rule the authors'
code states; their code only compares the first two tied candidates and takes
the smallest value even for L_E, which we do not copy. A non-finite value
(bad architecture) ranks after every finite one.
"""

import dataclasses
import math
from typing import List, Optional, Sequence, Tuple

from asvit_tf.modeling import arch as arch_lib

WIDTH_RATIOS: Tuple[float, ...] = (0.05, 0.10, 0.15, 0.20)
PROXY_DIVISOR = 4
_SEARCH_RADIUS = 64  # valid widths are at most 8 apart (heads <= 64)


def is_valid_width(arch: arch_lib.ArchSpec, width: int) -> bool:
  """Whether `width` keeps every stage divisible by its heads."""
  if width < 1:
    return False
  try:
    arch.replace(width=width)
  except arch_lib.ArchError:
    return False
  return True


def round_width(arch: arch_lib.ArchSpec, target: float) -> int:
  """The valid width of `arch` nearest to `target` (ties: the larger)."""
  low = max(1, math.floor(target) - _SEARCH_RADIUS)
  widths = sorted(range(low, math.ceil(target) + _SEARCH_RADIUS + 1),
                  key=lambda w: (abs(w - target), -w))
  for width in widths:
    if is_valid_width(arch, width):
      return width
  raise arch_lib.ArchError(f'no valid width near {target} for heads '
                           f'{arch.heads}')


def proxy(arch: arch_lib.ArchSpec) -> arch_lib.ArchSpec:
  """The authors' 4x narrower stand-in measured instead of `arch`."""
  return arch.replace(width=round_width(arch, arch.width / PROXY_DIVISOR))


@dataclasses.dataclass(frozen=True)
class Candidate:
  """One scaling choice: a block added to `stage`, C widened by `ratio`."""
  stage: int
  ratio: float
  arch: arch_lib.ArchSpec


def candidates(arch: arch_lib.ArchSpec) -> List[Candidate]:
  """The (up to) 16 grown architectures of one step, duplicates removed."""
  found, seen = [], set()
  for stage in range(1, arch_lib.NUM_STAGES + 1):
    depths = list(arch.depths)
    depths[stage - 1] += 1
    deeper = arch.with_depths(depths)
    for ratio in WIDTH_RATIOS:
      grown = deeper.replace(width=round_width(arch, arch.width * (1 + ratio)))
      if grown not in seen:
        seen.add(grown)
        found.append(Candidate(stage, ratio, grown))
  return found


def dense_ranks(values: Sequence[float], higher_is_better: bool) -> List[int]:
  """Rank 1 for the best value; equal values share; non-finite rank last."""
  finite = sorted({v for v in values if math.isfinite(v)},
                  reverse=higher_is_better)
  rank = {v: i + 1 for i, v in enumerate(finite)}
  return [rank.get(v, len(finite) + 1) if math.isfinite(v) else
          len(finite) + 1 for v in values]


def relative_range(values: Sequence[float]) -> float:
  finite = [v for v in values if math.isfinite(v)]
  if not finite or max(finite) == 0:
    return 0.0
  return (max(finite) - min(finite)) / abs(max(finite))


@dataclasses.dataclass(frozen=True)
class Selection:
  """The chosen index, the ranks, and the metric that broke a tie."""
  index: int
  length_ranks: Tuple[int, ...]
  kappa_ranks: Tuple[int, ...]
  tie_break: Optional[str]


def select(lengths: Sequence[float], kappas: Sequence[float]) -> Selection:
  """Algorithm 2, lines 6-9, with the authors' tie-break."""
  if not lengths or len(lengths) != len(kappas):
    raise ValueError('select needs one L_E and one kappa per candidate')
  length_ranks = dense_ranks(lengths, higher_is_better=True)
  kappa_ranks = dense_ranks(kappas, higher_is_better=False)
  sums = [a + b for a, b in zip(length_ranks, kappa_ranks)]
  tied = [i for i, s in enumerate(sums) if s == min(sums)]
  tie_break = None
  if len(tied) > 1:
    if relative_range(lengths) > relative_range(kappas):
      tie_break, ranks = 'length_distortion', length_ranks
    else:
      tie_break, ranks = 'ntk', kappa_ranks
    tied = [i for i in tied if ranks[i] == min(ranks[j] for j in tied)]
  return Selection(tied[0], tuple(length_ranks), tuple(kappa_ranks), tie_break)


def total_depth(arch: arch_lib.ArchSpec) -> int:
  """Fig. 3 'Total Depths': the number of blocks."""
  return sum(arch.depths)


def total_width(arch: arch_lib.ArchSpec) -> int:
  """Fig. 3 'Total Widths': the sum of the output channels of all blocks."""
  return sum(s.depth * arch.stage_width(n)
             for n, s in enumerate(arch.stages, start=1))
