"""The auto-scaling loop of Algorithm 2 with the parameter budget.

From the seed architecture, each step prices every candidate (parameters on
the full width, closed form), drops those above `max_params`, measures the
others (on the C/4 stand-in when `use_proxy`, as the authors' code; one seed
per step shared by all its candidates), and grows into the selected one. It stops once the selected
architecture has `stop_params` parameters or more, or when no candidate fits
(the authors' 80 M / 110 M).

`Scaler` holds the steps taken and the measurements of the step under way,
so a resumed run re-measures nothing it already has.
"""

import dataclasses
import time
from typing import Any, Callable, Dict, List, Optional

from asvit_tf.modeling import arch as arch_lib
from asvit_tf.search import cost
from asvit_tf.search import metric as metric_lib
from asvit_tf.search import scaling
from asvit_tf.search import seeds

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
  num_classes: int = cost.IMAGENET_CLASSES
  seed: int = 0
  image_size: int = 224

  @property
  def divisor(self) -> int:
    """How much narrower than a candidate its measured stand-in is."""
    return scaling.PROXY_DIVISOR if self.use_proxy else 1


def describe(arch: arch_lib.ArchSpec, config: ScaleConfig) -> Dict[str, Any]:
  """Architecture string, depths, width and costs of one point."""
  return {
      'arch': arch_lib.format_arch(arch),
      'depths': list(arch.depths),
      'width': arch.width,
      'params': cost.count_params(arch, config.num_classes),
      'gmacs': cost.count_macs(arch, config.image_size,
                               config.num_classes) / 1e9,
      'total_depth': scaling.total_depth(arch),
      'total_width': scaling.total_width(arch),
  }


class Scaler:
  """State of one scaling run: steps taken, measurements under way."""

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
    if cost.count_params(self.current, self.config.num_classes) >= (
        self.config.stop_params):
      self.stopped = STOP_BUDGET
      return None
    index = len(self.steps) + 1
    metric_seed = seeds.derive(self.config.seed, seeds.METRICS, index)
    rows = []
    for candidate in scaling.candidates(self.current, self.config.divisor):
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
    selection = scaling.select([r['l_e'] for r in kept],
                               [r['ntk'] for r in kept])
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
