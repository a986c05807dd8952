"""Training-free auto-scaling, Algorithm 2 (Sec. 3.4): candidates and choice.

Candidates of one step: {add one block to stage 1, 2, 3 or 4} x {widen by
5, 10, 15, 20 %}, in that order (stage-major). As the authors' code, the
widening acts on the stand-in width c = C / 4 that the metrics are measured
at: the widths are round(c * (1 + r)) with Python's round (half to even), a
width equal to the previous one is dropped, every candidate is measured at
exactly its width c (attention heads `c // heads` wide) and priced at 4c.
Without a stand-in (divisor 1) the same rule acts on C itself.

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
# The authors measure a stand-in of a quarter of the width.
PROXY_DIVISOR = 4


def grown_widths(width: int) -> List[Tuple[float, int]]:
  """(ratio, round(width * (1 + ratio))) per ratio, Python's rounding; a
  width equal to the previous one is dropped (authors' de-duplication)."""
  found = []
  for ratio in WIDTH_RATIOS:
    grown = round(width * (1 + ratio))
    if not found or grown != found[-1][1]:
      found.append((ratio, grown))
  return found


def measured_width(arch: arch_lib.ArchSpec, divisor: int) -> int:
  """The width c = C / divisor the metrics see; raises ArchError unless C
  divides and the stand-in has a channel per head."""
  if arch.width % divisor:
    raise arch_lib.ArchError(
        f'width C={arch.width} is not a multiple of {divisor}; allowed: with '
        f'the C/{divisor} stand-in, a C divisible by {divisor}')
  width = arch.width // divisor
  smallest = arch_lib.min_width(arch.heads)
  if width < smallest:
    raise arch_lib.ArchError(
        f'width C={arch.width} gives a C/{divisor} stand-in of {width} '
        f'channels, fewer than its {arch.heads // 8} stage-1 heads; allowed: '
        f'C >= {smallest * divisor} for {arch.heads} heads')
  return width


@dataclasses.dataclass(frozen=True)
class Candidate:
  """One scaling choice: a block added to `stage`, width widened by
  `ratio`; `measured` is the stand-in the metrics are taken on."""
  stage: int
  ratio: float
  arch: arch_lib.ArchSpec
  measured: arch_lib.ArchSpec


def candidates(arch: arch_lib.ArchSpec,
               divisor: int = PROXY_DIVISOR) -> List[Candidate]:
  """The (up to) 16 grown architectures of one step."""
  width = measured_width(arch, divisor)
  found = []
  for stage in range(1, arch_lib.NUM_STAGES + 1):
    depths = list(arch.depths)
    depths[stage - 1] += 1
    deeper = arch.with_depths(depths)
    for ratio, grown in grown_widths(width):
      found.append(Candidate(stage, ratio, deeper.replace(width=grown * divisor),
                             deeper.replace(width=grown)))
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
