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

REPORT_MD = 'report.md'
REPORT_JSON = 'report.json'
CURVE_PNG = 'training_curve.png'
PLOTS = {'search': ('search/search_entropy.png', 'Policy entropy (Fig. 5)'),
         'scale_trajectory': ('scale/scale_trajectory.png',
                              'Scaling trajectory, depth vs width (Fig. 3 '
                              'left)'),
         'scale_complexity': ('scale/scale_complexity.png',
                              'L_E vs NTK condition number per scaling step '
                              '(Fig. 3 right)'),
         'training': (CURVE_PNG, 'Training loss and validation top-1')}


def read_scalars(log_dir: str) -> Dict[str, List[Dict[str, float]]]:
  """tag -> [{step, wall_time, value}] from every event file in `log_dir`."""
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


def phases(train: Dict[str, List[Dict[str, float]]]) -> List[Dict[str, Any]]:
  """Re-tokenization phases: stride, dilation, first step, seconds spent."""
  changes = []
  for row in train.get('retokenization/stride', []):
    if not changes or changes[-1]['stride'] != int(row['value']):
      changes.append({'stride': int(row['value']), 'start_step': row['step'],
                      'start_time': row['wall_time']})
  end_time = max((r['wall_time'] for r in train.get('training_loss', [])),
                 default=None)
  result = []
  for i, change in enumerate(changes):
    stop = changes[i + 1]['start_time'] if i + 1 < len(changes) else end_time
    result.append({
        'stride': change['stride'],
        'dilation': train_dilation(train, change['start_step']),
        'start_step': change['start_step'],
        'seconds': (stop - change['start_time']) if stop else None,
    })
  return result


def train_dilation(train: Dict[str, List[Dict[str, float]]],
                   step: int) -> Optional[int]:
  for row in train.get('retokenization/dilation', []):
    if row['step'] == step:
      return int(row['value'])
  return None


def plot_training(train, validation, path: str) -> None:
  figure, loss_axis = plt.subplots(figsize=(6, 4))
  loss = train.get('training_loss', [])
  loss_axis.plot([r['step'] for r in loss], [r['value'] for r in loss],
                 color='tab:blue', label='training loss')
  loss_axis.set_xlabel('step')
  loss_axis.set_ylabel('training loss', color='tab:blue')
  for change in train.get('retokenization/stride', []):
    loss_axis.axvline(change['step'], color='grey', linestyle=':')
    loss_axis.annotate(f'stride {int(change["value"])}',
                       (change['step'], 1.0), xycoords=('data', 'axes fraction'),
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
  search = read_json(os.path.join(output_dir, 'search', 'search_result.json'))
  scale = read_json(os.path.join(output_dir, 'scale', 'scale_result.json'))
  report: Dict[str, Any] = {'stage_seconds': timings}
  if search:
    report['search'] = {'arch': search['arch'], 'steps': len(search['history']),
                        'final_entropy': search['history'][-1]['entropy'],
                        'l_e': search.get('l_e'), 'ntk': search.get('ntk')}
  if scale:
    report['scale'] = {'series': [
        {k: p[k] for k in ('arch', 'params', 'gmacs')} for p in scale['series']],
                       'stopped': scale['stopped']}
  train_dir = os.path.join(output_dir, 'train')
  if os.path.isdir(os.path.join(train_dir, 'train')):
    train = read_scalars(os.path.join(train_dir, 'train'))
    validation = read_scalars(os.path.join(train_dir, 'validation'))
    plot_training(train, validation, os.path.join(output_dir, CURVE_PNG))
    params = _read_params(train_dir)
    top1 = validation.get('accuracy', [])
    report['train'] = {
        'arch': params and params.task.model.backbone.asvit.arch,
        'precision': params and params.runtime.mixed_precision_dtype,
        'top1': top1[-1]['value'] if top1 else None,
        'final_training_loss': train['training_loss'][-1]['value'],
        'first_training_loss': train['training_loss'][0]['value'],
        'curve': [{'step': r['step'], 'loss': r['value']}
                  for r in train['training_loss']],
        'phases': phases(train),
    }
  report['plots'] = {name: path for name, (path, _) in PLOTS.items()
                     if os.path.exists(os.path.join(output_dir, path))}
  return report


def _read_params(train_dir: str) -> Optional[params_dict.ParamsDict]:
  """The training run's params.yaml (precision as resolved), if any."""
  path = os.path.join(train_dir, 'params.yaml')
  if not os.path.exists(path):
    return None
  return params_dict.read_yaml_to_params_dict(path)


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
