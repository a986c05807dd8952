"""Training-free auto-scaling, Algorithm 2 (Sec. 3.4).

From the seed architecture, each step prices every candidate (parameters at
the full width, closed form), drops those above `max_params`, measures the
others (on the C/4 stand-in when `use_proxy`, as the authors' code; one
initialization seed per step shared by all its candidates), and grows into
the selected one. It stops once the selected architecture has `stop_params`
parameters or more, or when no candidate fits (the authors' 80 M / 110 M).
`Scaler` holds the steps taken and the measurements of the step under way,
so a resumed run re-measures nothing it already has; `python -m
asvit_tf.scaling` runs it in a model_dir through asvit_tf.job.

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
import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from asvit_tf import counting
from asvit_tf import errors
from asvit_tf import job as job_lib
from asvit_tf import plots
from asvit_tf.complexity import metric as metric_lib
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
      found.append(Candidate(stage, ratio,
                             deeper.replace(width=grown * divisor),
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


# Targets that name points of the run after the published family (Table 4).
NAMED_TARGETS = ('small', 'base', 'large')
STOP_BUDGET = 'budget'
STOP_NO_CANDIDATE = 'no_candidate_within_max_params'


@dataclasses.dataclass(frozen=True)
class ScaleConfig:
  """Settings that decide the result (stored with the state)."""
  arch: str = 'seed'
  stop_params: int = 80_000_000
  max_params: int = 110_000_000
  use_proxy: bool = True
  num_classes: int = counting.IMAGENET_CLASSES
  seed: int = 0
  image_size: int = 224

  @property
  def divisor(self) -> int:
    """How much narrower than a candidate its measured stand-in is."""
    return PROXY_DIVISOR if self.use_proxy else 1


def check_budget(stop_params_m: float, max_params_m: float) -> None:
  """Raises a UsageError unless 0 < stop <= max, both finite (millions)."""
  if not (0 < stop_params_m <= max_params_m and math.isfinite(max_params_m)):
    raise errors.UsageError(
        f'--stop_params_m={stop_params_m} and --max_params_m={max_params_m}; '
        'allowed: 0 < stop_params_m <= max_params_m, finite')


def describe(arch: arch_lib.ArchSpec, config: ScaleConfig) -> Dict[str, Any]:
  """Architecture string, depths, width and costs of one point."""
  return {
      'arch': arch_lib.format_arch(arch),
      'depths': list(arch.depths),
      'width': arch.width,
      'params': counting.arch_params(arch, config.num_classes),
      'gmacs': counting.arch_macs(arch, config.image_size,
                                  config.num_classes) / 1e9,
      'total_depth': total_depth(arch),
      'total_width': total_width(arch),
  }


class Scaler(job_lib.Algorithm):
  """State of one scaling run: steps taken, measurements under way."""

  NAME = job_lib.SCALE

  def __init__(self, config: ScaleConfig,
               state: Optional[Dict[str, Any]] = None):
    self.config = config
    self.start = arch_lib.parse_arch(config.arch)
    state = state or {'steps': [], 'partial': {}, 'stopped': None}
    self.steps: List[Dict[str, Any]] = state['steps']
    self.partial: Dict[str, List[float]] = state['partial']
    self.stopped: Optional[str] = state['stopped']

  def to_state(self) -> Dict[str, Any]:
    return {'steps': self.steps, 'partial': self.partial,
            'stopped': self.stopped}

  @property
  def current(self) -> arch_lib.ArchSpec:
    if not self.steps:
      return self.start
    return arch_lib.parse_arch(self.steps[-1]['arch'])

  def step(self, metric: metric_lib.MetricFn,
           on_measure: Callable[[Dict[str, Any]], None]
           ) -> Optional[Dict[str, Any]]:
    """One step; None when the run stops. `on_measure` sees each candidate."""
    if self.stopped:
      return None
    if counting.arch_params(self.current, self.config.num_classes) >= (
        self.config.stop_params):
      self.stopped = STOP_BUDGET
      return None
    index = len(self.steps) + 1
    metric_seed = job_lib.derive_seed(self.config.seed,
                                      job_lib.METRICS_STREAM, index)
    rows = []
    for candidate in candidates(self.current, self.config.divisor):
      row = dict(describe(candidate.arch, self.config), stage=candidate.stage,
                 ratio=candidate.ratio)
      row['dropped'] = row['params'] > self.config.max_params
      if not row['dropped']:
        measured = arch_lib.format_arch(candidate.measured)
        if measured not in self.partial:
          start = time.perf_counter()
          values = metric(arch_lib.parse_arch(measured), metric_seed)
          self.partial[measured] = [float(values[0]), float(values[1]),
                                    time.perf_counter() - start]
        row.update(measured_arch=measured, l_e=self.partial[measured][0],
                   ntk=self.partial[measured][1])
        on_measure(row)
      rows.append(row)
    kept = [r for r in rows if not r['dropped']]
    if not kept:
      self.stopped = STOP_NO_CANDIDATE
      self.partial = {}
      return None
    selection = select([r['l_e'] for r in kept], [r['ntk'] for r in kept])
    for row, a, b in zip(kept, selection.length_ranks, selection.kappa_ranks):
      row.update(rank_l_e=a, rank_ntk=b)
    chosen = kept[selection.index]
    record = dict(
        {k: chosen[k] for k in ('arch', 'depths', 'width', 'params', 'gmacs',
                                'total_depth', 'total_width', 'stage', 'ratio',
                                'measured_arch', 'l_e', 'ntk')},
        step=index, tie_break=selection.tie_break, metric_seed=metric_seed,
        seconds=sum(v[2] for v in self.partial.values()), candidates=rows)
    self.steps.append(record)
    self.partial = {}
    if record['params'] >= self.config.stop_params:
      self.stopped = STOP_BUDGET
    return record

  def steps_left(self) -> float:
    """Steps to the budget if parameters keep growing at their mean rate."""
    series = self.series()
    first, last = series[0]['params'], series[-1]['params']
    if len(series) < 2 or last <= first:
      return math.nan
    rate = math.log(last / first) / (len(series) - 1)
    return max(math.log(self.config.stop_params / last) / rate, 0.0)

  def resume_line(self) -> str:
    return f'after step {len(self.steps)}'

  def advance(self, metric: metric_lib.MetricFn, reporter: job_lib.Reporter,
              save: Callable[[], None]) -> Optional[Dict[str, Any]]:
    def on_measure(row: Dict[str, Any]) -> None:
      reporter.line(
          f'  step {len(self.steps) + 1} candidate: +1 block stage '
          f'{row["stage"]}, C {row["width"]} | params '
          f'{row["params"] / 1e6:.2f}M | L_E '
          f'{job_lib.format_number(row["l_e"])} | NTK '
          f'{job_lib.format_number(row["ntk"])}')
      save()

    return self.step(metric, on_measure)

  def report(self, reporter: job_lib.Reporter,
             record: Dict[str, Any]) -> None:
    left = job_lib.eta([s['seconds'] for s in self.steps], self.steps_left())
    measured = len([c for c in record['candidates'] if not c['dropped']])
    previous = self.series()[-2]['width']
    reporter.line(
        f'step {record["step"]} | params {record["params"] / 1e6:.2f}M of '
        f'{self.config.stop_params / 1e6:g}M | ETA '
        f'{job_lib.format_duration(left)} | +1 block stage '
        f'{record["stage"]}, C {previous} -> {record["width"]} | L_E '
        f'{job_lib.format_number(record["l_e"])} | NTK '
        f'{job_lib.format_number(record["ntk"])} | {measured} candidates, '
        f'tie-break {record["tie_break"] or "-"} | {record["arch"]} '
        f'({record["seconds"]:.1f}s)')
    reporter.scalars(record['step'], {
        'scale/params': record['params'],
        'scale/gmacs': record['gmacs'],
        'scale/width': record['width'],
        'scale/total_depth': record['total_depth'],
        'scale/total_width': record['total_width'],
        'metrics/length_distortion': record['l_e'],
        'metrics/ntk_condition_number': record['ntk'],
        'time/step_seconds': record['seconds'],
    })

  def finish(self, metric: metric_lib.MetricFn,
             settings: Dict[str, Any]) -> Dict[str, Any]:
    del metric  # Every step measured its candidates.
    return {'stopped': self.stopped, 'series': self.series(),
            'named': self.named_points(), 'settings': settings,
            'steps': self.steps,
            'scale_seconds': sum(s['seconds'] for s in self.steps)}

  def write_outputs(self, result: Dict[str, Any], model_dir: str) -> str:
    series = result['series']
    plots.scaling_trajectory([p['total_depth'] for p in series],
                             [p['total_width'] for p in series],
                             os.path.join(model_dir, job_lib.TRAJECTORY_PLOT))
    plots.complexity_trajectory(
        [s['l_e'] for s in self.steps], [s['ntk'] for s in self.steps],
        [s['step'] for s in self.steps],
        os.path.join(model_dir, job_lib.COMPLEXITY_PLOT))
    named = ', '.join(f'{n} {p["arch"]} ({p["params"] / 1e6:.1f}M)'
                      for n, p in result['named'].items())
    return (f'scaling stopped ({self.stopped}) after {len(self.steps)} '
            f'steps: {named}; results in {model_dir}')

  def series(self) -> List[Dict[str, Any]]:
    """The seed and every grown architecture, with costs and metrics."""
    start = dict(describe(self.start, self.config), step=0, l_e=None,
                 ntk=None)
    keys = ('step', 'arch', 'depths', 'width', 'params', 'gmacs',
            'total_depth', 'total_width', 'l_e', 'ntk')
    return [start] + [{k: s[k] for k in keys} for s in self.steps]

  def named_points(self) -> Dict[str, Dict[str, Any]]:
    """The points closest in parameters to the paper's Small, Base, Large."""
    series = self.series()
    named = {}
    for name in NAMED_TARGETS:
      target = arch_lib.PAPER_COST[name][0] * 1e6
      point = min(series, key=lambda p: abs(p['params'] - target))
      named[name] = dict(point, target_params=target,
                         paper_arch=arch_lib.PRESET_STRINGS[name])
    return named
