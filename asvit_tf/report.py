"""The main job's report: report.md for people, report.json for machines.

Reads what the stages left in the pipeline's output folder: the search and
scaling results (with their plots) and the training run's TensorBoard events
(loss curve, top-1, re-tokenization phases with their stride and time).
"""

import glob
import json
import os
from typing import Any, Dict, List, Optional

import matplotlib
matplotlib.use('Agg')
from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
import tensorflow as tf
from official.modeling.hyperparams import params_dict

from asvit_tf import job as job_lib
from asvit_tf import retokenization
from asvit_tf.configs import image_classification as exp_cfg
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling.layers import tokenization

REPORT_MD = 'report.md'
REPORT_JSON = 'report.json'
CURVE_PNG = 'training_curve.png'
# The main job's output folder: one run directory per stage.
SEARCH_DIR, SCALE_DIR, TRAIN_DIR = 'search', 'scale', 'train'
PLOTS = {'search': (os.path.join(SEARCH_DIR, job_lib.ENTROPY_PLOT),
                    'Policy entropy (Fig. 5)'),
         'scale_trajectory': (os.path.join(SCALE_DIR, job_lib.TRAJECTORY_PLOT),
                              'Scaling trajectory, depth vs width (Fig. 3 '
                              'left)'),
         'scale_complexity': (os.path.join(SCALE_DIR, job_lib.COMPLEXITY_PLOT),
                              'L_E vs NTK condition number per scaling step '
                              '(Fig. 3 right)'),
         'training': (CURVE_PNG, 'Training loss and validation top-1')}


def read_scalars(log_dir: str) -> Dict[str, List[Dict[str, float]]]:
  """tag -> [{step, wall_time, value}] from every event file in `log_dir`.

  Reads the records with tf.data, as TF advises in place of its deprecated
  `summary_iterator` (which printed that advice at the end of every run).
  """
  scalars: Dict[str, List[Dict[str, float]]] = {}
  for path in sorted(glob.glob(os.path.join(log_dir, 'events.out.*'))):
    for record in tf.data.TFRecordDataset(path):
      event = tf.compat.v1.Event.FromString(record.numpy())
      for value in event.summary.value:
        number = (float(tf.make_ndarray(value.tensor))
                  if value.HasField('tensor') else value.simple_value)
        scalars.setdefault(value.tag, []).append(
            {'step': int(event.step), 'wall_time': event.wall_time,
             'value': number})
  for rows in scalars.values():
    rows.sort(key=lambda r: (r['wall_time'], r['step']))
  return scalars


def phases(train: Dict[str, List[Dict[str, float]]],
           params: params_dict.ParamsDict) -> List[Dict[str, Any]]:
  """Re-tokenization phases the run reached: stride, dilation, first step and
  seconds spent, the seconds from the training-loss summaries' wall times
  (the loop before the first summary, with the tracing, is not counted)."""
  config = exp_cfg.Retokenization()
  config.override(params.task.retokenization.as_dict())
  schedule = retokenization.Schedule.from_config(config)
  kernel = arch_lib.parse_arch(
      params.task.model.backbone.asvit.arch).stages[0].kernel
  rows = train.get('training_loss', [])
  seconds = [0.0] * len(schedule.phases)
  for previous, row in zip(rows, rows[1:]):
    step_seconds = ((row['wall_time'] - previous['wall_time'])
                    / max(row['step'] - previous['step'], 1))
    for step in range(previous['step'], row['step']):
      seconds[schedule.phase_at(step).index] += step_seconds
  last_step = max((row['step'] for row in rows), default=0)
  return [{'stride': phase.stride,
           'dilation': tokenization.dilation_for_stride(kernel, phase.stride),
           'start_step': phase.start_step,
           'seconds': seconds[phase.index]}
          for phase in schedule.phases if phase.start_step < last_step]


def plot_training(train, validation, train_phases: List[Dict[str, Any]],
                  path: str) -> None:
  figure, loss_axis = plt.subplots(figsize=(6, 4))
  loss = train.get('training_loss', [])
  loss_axis.plot([r['step'] for r in loss], [r['value'] for r in loss],
                 color='tab:blue', label='training loss')
  loss_axis.set_xlabel('step')
  loss_axis.set_ylabel('training loss', color='tab:blue')
  for phase in train_phases:
    loss_axis.axvline(phase['start_step'], color='grey', linestyle=':')
    loss_axis.annotate(f'stride {phase["stride"]}',
                       (phase['start_step'], 1.0),
                       xycoords=('data', 'axes fraction'),
                       xytext=(3, -12), textcoords='offset points',
                       fontsize=8, color='grey')
  top1 = validation.get('accuracy', [])
  if top1:
    acc_axis = loss_axis.twinx()
    acc_axis.plot([r['step'] for r in top1], [r['value'] for r in top1], 'o-',
                  color='tab:red', label='validation top-1')
    acc_axis.set_ylabel('validation top-1', color='tab:red')
  loss_axis.set_title('Training with progressive re-tokenization')
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  plt.close(figure)


def read_json(path: str) -> Optional[Dict[str, Any]]:
  """The JSON object at `path`, None if the file does not exist."""
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def collect(output_dir: str, timings: Dict[str, float]) -> Dict[str, Any]:
  """Everything the report says, as one JSON-ready dict."""
  search = read_json(os.path.join(output_dir, SEARCH_DIR,
                                  job_lib.SEARCH_RESULT))
  scale = read_json(os.path.join(output_dir, SCALE_DIR, job_lib.SCALE_RESULT))
  report: Dict[str, Any] = {'stage_seconds': timings}
  if search:
    report['search'] = {'arch': search['arch'], 'steps': len(search['history']),
                        'final_entropy': search['history'][-1]['entropy'],
                        'l_e': search.get('l_e'), 'ntk': search.get('ntk')}
  if scale:
    report['scale'] = {'series': [
        {k: p[k] for k in ('arch', 'params', 'gmacs')} for p in scale['series']],
                       'stopped': scale['stopped']}
  train_dir = os.path.join(output_dir, TRAIN_DIR)
  if os.path.isdir(os.path.join(train_dir, 'train')):
    train = read_scalars(os.path.join(train_dir, 'train'))
    validation = read_scalars(os.path.join(train_dir, 'validation'))
    params = params_dict.read_yaml_to_params_dict(
        os.path.join(train_dir, 'params.yaml'))
    train_phases = phases(train, params)
    plot_training(train, validation, train_phases,
                  os.path.join(output_dir, CURVE_PNG))
    top1 = validation.get('accuracy', [])
    report['train'] = {
        'arch': params.task.model.backbone.asvit.arch,
        'precision': params.runtime.mixed_precision_dtype,
        'top1': top1[-1]['value'] if top1 else None,
        'final_training_loss': train['training_loss'][-1]['value'],
        'first_training_loss': train['training_loss'][0]['value'],
        'curve': [{'step': r['step'], 'loss': r['value']}
                  for r in train['training_loss']],
        'phases': train_phases,
    }
  report['plots'] = {name: path for name, (path, _) in PLOTS.items()
                     if os.path.exists(os.path.join(output_dir, path))}
  return report


def markdown(report: Dict[str, Any]) -> str:
  """report.md: the topology, the scaled series, training, the plots."""
  lines = ['# As-ViT main job report', '']
  if 'search' in report:
    s = report['search']
    lines += ['## Topology search (Algorithm 1)', '',
              f'Found topology: `{s["arch"]}` after {s["steps"]} steps '
              f'(final policy entropy {s["final_entropy"]:.2f}).', '']
  if 'scale' in report:
    lines += ['## Scaled series (Algorithm 2)', '',
              '| step | architecture | params (M) | GMACs |', '|---|---|---|---|']
    for i, p in enumerate(report['scale']['series']):
      lines.append(f'| {i} | `{p["arch"]}` | {p["params"] / 1e6:.3f} | '
                   f'{p["gmacs"]:.4f} |')
    lines += ['', f'Stopped: {report["scale"]["stopped"]}.', '']
  if 'train' in report:
    t = report['train']
    top1 = 'n/a' if t['top1'] is None else f'{t["top1"]:.3f}'
    lines += ['## Training with progressive re-tokenization (Sec. 4)', '',
              f'Model: `{t["arch"]}`, trained in {t["precision"]}. '
              f'Validation top-1: **{top1}**. Training loss '
              f'{t["first_training_loss"]:.3f} -> '
              f'{t["final_training_loss"]:.3f}.', '',
              '| phase | stride | dilation | from step | seconds |',
              '|---|---|---|---|---|']
    for i, p in enumerate(t['phases']):
      seconds = '-' if p['seconds'] is None else f'{p["seconds"]:.1f}'
      lines.append(f'| {i + 1} | {p["stride"]} | {p["dilation"]} | '
                   f'{p["start_step"]} | {seconds} |')
    lines.append('')
  if report['stage_seconds']:
    lines += ['## Time per stage', '']
    lines += [f'- {k}: {v:.0f} s' for k, v in report['stage_seconds'].items()]
    lines.append('')
  if report['plots']:
    lines += ['## Plots', '']
    for name, path in report['plots'].items():
      lines += [f'![{PLOTS[name][1]}]({path})', '']
  return '\n'.join(lines)


def write_report(output_dir: str, timings: Dict[str, float]) -> str:
  """Writes report.json, report.md and the training curve; returns the md."""
  report = collect(output_dir, timings)
  with open(os.path.join(output_dir, REPORT_JSON), 'w') as f:
    json.dump(report, f, indent=2)
  path = os.path.join(output_dir, REPORT_MD)
  with open(path, 'w') as f:
    f.write(markdown(report))
  return path
