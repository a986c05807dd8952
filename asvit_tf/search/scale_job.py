"""A whole auto-scaling run in `model_dir`: resumable, with its outputs.

Files: `scale_state.json` (after every measured candidate),
`scale_result.json`, `scale_trajectory.png` (Fig. 3 left),
`scale_complexity.png` (Fig. 3 right) and TensorBoard scalars in
`tensorboard/`.
"""

import math
import os
import sys
from typing import Any, Callable, Dict, TextIO

from asvit_tf.search import job as job_lib
from asvit_tf.search import metric as metric_lib
from asvit_tf.search import plots
from asvit_tf.search import progress
from asvit_tf.search import scaler as scaler_lib
from asvit_tf.search import state as state_lib

STATE = 'scale_state.json'
RESULT = 'scale_result.json'
TRAJECTORY_PLOT = 'scale_trajectory.png'
COMPLEXITY_PLOT = 'scale_complexity.png'


def steps_left(scaler: scaler_lib.Scaler) -> float:
  """Steps to the budget if parameters keep growing at their mean rate."""
  series = scaler.series()
  first, last = series[0]['params'], series[-1]['params']
  if len(series) < 2 or last <= first:
    return math.nan
  rate = math.log(last / first) / (len(series) - 1)
  return max(math.log(scaler.config.stop_params / last) / rate, 0.0)


def _report(reporter: progress.Reporter, scaler: scaler_lib.Scaler,
            record: Dict[str, Any]) -> None:
  left = progress.eta([s['seconds'] for s in scaler.steps],
                      steps_left(scaler))
  measured = len([c for c in record['candidates'] if not c['dropped']])
  reporter.line(
      f'step {record["step"]} | params {record["params"] / 1e6:.2f}M of '
      f'{scaler.config.stop_params / 1e6:.0f}M | ETA '
      f'{progress.format_duration(left)} | +1 block stage {record["stage"]}, '
      f'C {record["width"]} (+{record["ratio"]:.0%}) | L_E '
      f'{progress.format_number(record["l_e"])} | NTK '
      f'{progress.format_number(record["ntk"])} | {measured} candidates, '
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


def run(config: scaler_lib.ScaleConfig,
        make_metric: Callable[[], metric_lib.MetricFn], model_dir: str,
        settings: Dict[str, Any], stream: TextIO = sys.stdout
        ) -> Dict[str, Any]:
  """Runs or resumes the scaling; `settings` must match a saved run's.

  The metric is made only after the saved settings were checked.
  """
  job = job_lib.open_job(model_dir, STATE, settings, make_metric, stream)
  scaler = scaler_lib.Scaler(config, job.saved_part('scale'))
  reporter = job.reporter

  def save() -> None:
    job.save('scale', scaler.to_state())

  def on_measure(row: Dict[str, Any]) -> None:
    reporter.line(
        f'  step {len(scaler.steps) + 1} candidate: +1 block stage '
        f'{row["stage"]}, C {row["width"]} | params {row["params"] / 1e6:.2f}M'
        f' | L_E {progress.format_number(row["l_e"])} | NTK '
        f'{progress.format_number(row["ntk"])}')
    save()

  try:
    if job.saved:
      reporter.line(f'resuming {job.path} after step {len(scaler.steps)}')
    while (record := scaler.step(job.metric, on_measure)) is not None:
      _report(reporter, scaler, record)
      save()
    save()
    series = scaler.series()
    result = {'stopped': scaler.stopped, 'series': series,
              'named': scaler.named_points(), 'settings': settings,
              'steps': scaler.steps,
              'scale_seconds': sum(s['seconds'] for s in scaler.steps)}
    state_lib.write_json(os.path.join(model_dir, RESULT),
                         state_lib.strict(result))
    plots.scaling_trajectory([p['total_depth'] for p in series],
                             [p['total_width'] for p in series],
                             os.path.join(model_dir, TRAJECTORY_PLOT))
    plots.complexity_trajectory(
        [s['l_e'] for s in scaler.steps], [s['ntk'] for s in scaler.steps],
        [s['step'] for s in scaler.steps],
        os.path.join(model_dir, COMPLEXITY_PLOT))
    named = ', '.join(f'{n} {p["arch"]} ({p["params"] / 1e6:.1f}M)'
                      for n, p in result['named'].items())
    reporter.line(f'scaling stopped ({scaler.stopped}) after '
                  f'{len(scaler.steps)} steps: {named}; results in '
                  f'{model_dir}')
  finally:
    reporter.close()
  return result
