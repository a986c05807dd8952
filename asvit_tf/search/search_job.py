"""A whole topology search in `model_dir`: resumable, with its outputs.

Files: `search_state.json` (after every step), `search_result.json`,
`search_entropy.png` (Fig. 5) and TensorBoard scalars in `tensorboard/`.
"""

import os
import sys
from typing import Any, Callable, Dict, TextIO

from asvit_tf.search import job as job_lib
from asvit_tf.search import metric as metric_lib
from asvit_tf.search import plots
from asvit_tf.search import progress
from asvit_tf.search import reinforce
from asvit_tf.search import state as state_lib

STATE = 'search_state.json'
RESULT = 'search_result.json'
ENTROPY_PLOT = 'search_entropy.png'


def _report(reporter: progress.Reporter, search: reinforce.Search,
            record: Dict[str, Any]) -> None:
  total = search.config.steps
  left = progress.eta([r['seconds'] for r in search.history],
                      total - record['step'])
  reporter.line(
      f'step {record["step"]}/{total} | ETA {progress.format_duration(left)} '
      f'| reward {record["reward"]:+.3f} | entropy {record["entropy"]:.2f} | '
      f'L_E {progress.format_number(record["l_e"])} | '
      f'NTK {progress.format_number(record["ntk"])} | '
      f'params {record["params"] / 1e6:.2f}M | '
      f'{reinforce.short_arch(record["arch"])} ({record["seconds"]:.1f}s)')
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


def run(config: reinforce.SearchConfig,
        make_metric: Callable[[], metric_lib.MetricFn], model_dir: str,
        settings: Dict[str, Any], stream: TextIO = sys.stdout
        ) -> Dict[str, Any]:
  """Runs or resumes the search; `settings` must match a saved run's.

  The metric is made only after the saved settings were checked.
  """
  job = job_lib.open_job(model_dir, STATE, settings, make_metric, stream)
  search = reinforce.Search(config, job.saved_part('search'))
  reporter = job.reporter
  try:
    if job.saved:
      reporter.line(f'resuming {job.path} after step {search.steps_done}/'
                    f'{config.steps}')
    while search.steps_done < config.steps:
      record = search.step(job.metric)
      _report(reporter, search, record)
      job.save('search', search.to_state())
    if not search.done:
      search.finish(job.metric)
      job.save('search', search.to_state())
    final = search.final
    result = dict(final, arch_short=reinforce.short_arch(final['arch']),
                  settings=settings, history=search.history,
                  search_seconds=sum(r['seconds'] for r in search.history))
    state_lib.write_json(os.path.join(model_dir, RESULT),
                         state_lib.strict(result))
    plots.entropy_curve([r['step'] for r in search.history],
                        [r['entropy'] for r in search.history],
                        os.path.join(model_dir, ENTROPY_PLOT))
    reporter.line(
        f'searched topology {result["arch_short"]} (L_E '
        f'{progress.format_number(final["l_e"])}, NTK '
        f'{progress.format_number(final["ntk"])}, entropy '
        f'{final["entropy"]:.2f}); results in {model_dir}')
  finally:
    reporter.close()
  return result
