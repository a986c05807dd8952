"""The main job: search, scale, train and report in one command.

  python -m asvit_tf.pipeline --output_dir=/tmp/asvit_pipeline

On the embedded digits (no download) it runs the training-free topology
search (Algorithm 1, reduced steps), scales the found topology to a small
parameter budget (Algorithm 2), trains the last scaled model with progressive
re-tokenization (Sec. 4) through Model Garden, evaluates it and writes
`report.md`, `report.json` and the plots. Each stage runs its own binary in
`output_dir/<stage>` and resumes from there; `--skip` leaves stages out.
"""

import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Sequence

from absl import flags
import yaml

from asvit_tf import cli
from asvit_tf import errors
from asvit_tf import job as job_lib
from asvit_tf import precision
from asvit_tf import report as report_lib
from asvit_tf import retokenization
from asvit_tf.data import digits
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.scaling import scaler as scaler_lib
import official_configs

STAGES = (report_lib.SEARCH_DIR, report_lib.SCALE_DIR, report_lib.TRAIN_DIR)
SMOKE_CONFIG = official_configs.path('asvit_smoke_digits_cpu.yaml')

_OUTPUT_DIR = flags.DEFINE_string('output_dir', None,
                                  'Where every stage and the report go.')
_SKIP = flags.DEFINE_list('skip', [], f'Stages to leave out: {STAGES}.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of every stage.',
                             lower_bound=0)
_DATA = flags.DEFINE_string('data', 'digits', 'Images of the NTK batch: '
                            'digits, tfds:NAME, tfrecord:GLOB, folder:DIR.')
_ARCH = flags.DEFINE_string('arch', 'seed', 'Topology to scale when the '
                            'search is skipped.')
_SEARCH_STEPS = flags.DEFINE_integer('search_steps', 100,
                                     'REINFORCE steps (paper: 500).',
                                     lower_bound=1)
_METRIC_IMAGE_SIZE = flags.DEFINE_integer(
    'metric_image_size', 32, 'Image side of the search and scaling metrics '
    '(paper: 224).', lower_bound=32)
_REPEATS = flags.DEFINE_integer('repeats', 2, 'Initializations per metric '
                                '(paper: 5).', lower_bound=1)
_NTK_BATCH = flags.DEFINE_integer('ntk_batch_size', 8, 'NTK batch (paper: '
                                  '16).', lower_bound=2)
_METRIC_WORKERS = flags.DEFINE_integer(
    'metric_workers', None, 'Processes measuring each topology in the search '
    'and the scaling (their --metric_workers; default: 2 on a CPU-only '
    'machine with 2 or more cores, else 1).', lower_bound=1, upper_bound=2)
_STOP_PARAMS_M = flags.DEFINE_float('stop_params_m', 1.5, 'Scaling stops '
                                    'once a model has this many M params '
                                    '(authors: 80).')
_MAX_PARAMS_M = flags.DEFINE_float('max_params_m', 2.0, 'Scaling drops '
                                   'candidates above this (authors: 110).')
_SCALE_WIDTH = flags.DEFINE_integer(
    'width', 16, 'Base width C the scaling starts from, a multiple of 4 '
    '(paper: 32); raised to the smallest C whose C/4 stand-in has a channel '
    'per head.')
_TRAIN_CONFIG = flags.DEFINE_string(
    'train_config_file', SMOKE_CONFIG, 'Model Garden experiment YAML of the '
    'training stage; the pipeline overrides the arch, steps and phases.')
_TRAIN_STEPS = flags.DEFINE_integer('train_steps', 400, 'Training steps.',
                                    lower_bound=1)
_TRAIN_IMAGE_SIZE = flags.DEFINE_integer('train_image_size', 64,
                                         'Training image side.',
                                         lower_bound=1)
_PRECISION = flags.DEFINE_enum(
    'precision', None, (precision.AUTO,) + precision.DTYPES, 'Training '
    "precision; unset: the training YAML's (the smoke config's float32); "
    'auto: bfloat16 on CPUs with bfloat16 instructions, else float32 (GPU '
    'and TPU hosts too). The search and scaling metrics are always float32.')
_PHASES = flags.DEFINE_list(
    'phases', ['8:50'], 'Re-tokenization phases STRIDE:UNTIL_STEP; stride 4 '
    'follows. The default keeps stride 8 to the first eighth of training: at '
    '64x64 the digits have one scale, and what the model learns at stride 8 '
    'carries little to stride 4 (benchmarks/README.md).')


def _stage_dir(stage: str) -> str:
  return os.path.join(_OUTPUT_DIR.value, stage)


def run_binary(module: str, args: Sequence[str]) -> None:
  """Runs `python -m module args` with its progress on our stdout; the
  stage ends when this process does (`cli.end_with_job`)."""
  command = [sys.executable, '-m', module, *args]
  print(f'\n$ {" ".join(command)}', flush=True)
  env = dict(os.environ, **{cli.JOB_PID_ENV: str(os.getpid())})
  status = subprocess.run(command, env=env, check=False).returncode
  if status == 2:  # The stage refused its input in one line of its own.
    sys.exit(2)
  if status:
    raise errors.UsageError(f'stage {module} failed (see its output above); '
                            'allowed: fix it and run the pipeline again to '
                            'resume')


def metric_flags(stage: str) -> List[str]:
  workers = ([f'--metric_workers={_METRIC_WORKERS.value}']
             if _METRIC_WORKERS.value else [])
  return [f'--model_dir={_stage_dir(stage)}', f'--seed={_SEED.value}',
          f'--image_size={_METRIC_IMAGE_SIZE.value}',
          f'--repeats={_REPEATS.value}',
          f'--ntk_batch_size={_NTK_BATCH.value}', f'--data={_DATA.value}',
          *workers]


def parse_phases(values: Sequence[str]) -> List[Dict[str, int]]:
  phases = []
  for value in values:
    try:
      stride, until = (int(v) for v in value.split(':'))
    except ValueError:
      raise errors.UsageError(f'--phases entry {value!r}; allowed: '
                              'STRIDE:UNTIL_STEP such as 8:50') from None
    phases.append({'stride': stride, 'until_step': until})
  return phases


def check_train_phases() -> None:
  """Refuses --phases that training would refuse only after the search and
  scaling have run: strides, step order, and sides too small for a stride
  (the stage-4 map needs a token: side >= stride * 8)."""
  phases = parse_phases(_PHASES.value)
  schedule = retokenization.Schedule(
      [(p['stride'], p['until_step']) for p in phases])
  size = _TRAIN_IMAGE_SIZE.value
  for phase in schedule.phases:
    side = phase.stride * 2 ** (arch_lib.NUM_STAGES - 1)
    if size < side:
      raise errors.UsageError(
          f'--phases={",".join(_PHASES.value)} at --train_image_size={size}: '
          f'stride {phase.stride} needs sides of at least {side} pixels; '
          'allowed: smaller strides or a larger --train_image_size')


def train_override(arch: str) -> Dict[str, Any]:
  """Model Garden overrides of the training YAML for the picked model."""
  size = _TRAIN_IMAGE_SIZE.value
  steps = _TRAIN_STEPS.value
  override = {
      'task': {'model': {'input_size': [size, size, 3],
                         'backbone': {'asvit': {'arch': arch}}},
               'retokenization': {'phases': parse_phases(_PHASES.value)}},
      'trainer': {'train_steps': steps,
                  'validation_interval': max(steps // 4, 1),
                  'checkpoint_interval': max(steps // 5, 1),
                  'optimizer_config': {'learning_rate': {'cosine': {
                      'decay_steps': steps}}}},
  }
  if _PRECISION.value:
    override['runtime'] = {'mixed_precision_dtype': _PRECISION.value}
  return override


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  if not _OUTPUT_DIR.value:
    raise errors.UsageError('--output_dir is required; allowed: a folder '
                            '(created if missing)')
  unknown = sorted(set(_SKIP.value) - set(STAGES))
  if unknown:
    raise errors.UsageError(f'--skip={",".join(unknown)}; allowed: '
                            f'{", ".join(STAGES)}')
  if not os.path.exists(_TRAIN_CONFIG.value):
    raise errors.UsageError(f'--train_config_file={_TRAIN_CONFIG.value} does '
                            'not exist; allowed: a Model Garden YAML')
  if _SCALE_WIDTH.value < 4 or _SCALE_WIDTH.value % scaler_lib.PROXY_DIVISOR:
    raise errors.UsageError(
        f'--width={_SCALE_WIDTH.value}; allowed: a multiple of '
        f'{scaler_lib.PROXY_DIVISOR}, the scaling measures a C/4 stand-in')
  if 'scale' not in _SKIP.value:
    scaler_lib.check_budget(_STOP_PARAMS_M.value, _MAX_PARAMS_M.value)
  if 'search' in _SKIP.value:
    try:
      arch_lib.parse_arch(_ARCH.value)
    except arch_lib.ArchError as e:
      raise errors.UsageError(f'--arch={_ARCH.value}: {e}') from None
  cli.check_writable_dir('output_dir', _OUTPUT_DIR.value)
  if 'train' not in _SKIP.value:
    check_train_phases()
  os.makedirs(_OUTPUT_DIR.value, exist_ok=True)
  timings = {}
  arch = _ARCH.value
  if 'search' not in _SKIP.value:
    start = time.time()
    run_binary('asvit_tf.search', metric_flags(report_lib.SEARCH_DIR) +
               [f'--steps={_SEARCH_STEPS.value}'])
    timings['search'] = time.time() - start
    arch = report_lib.read_json(os.path.join(
        _stage_dir(report_lib.SEARCH_DIR), job_lib.SEARCH_RESULT))['arch']
  if 'scale' not in _SKIP.value:
    start = time.time()
    seed_arch = arch_lib.parse_arch(arch).with_depths((1, 1, 1, 1))
    width = max(_SCALE_WIDTH.value, scaler_lib.PROXY_DIVISOR *
                arch_lib.min_width(seed_arch.heads))
    if width != _SCALE_WIDTH.value:
      print(f'\nscaling starts at C={width}, not --width='
            f'{_SCALE_WIDTH.value}: the smallest C whose C/4 stand-in has a '
            f'channel per head of {seed_arch.heads} heads', flush=True)
    seed_arch = seed_arch.replace(width=width)
    run_binary('asvit_tf.scaling', metric_flags(report_lib.SCALE_DIR) + [
        f'--arch={arch_lib.format_arch(seed_arch)}',
        f'--stop_params_m={_STOP_PARAMS_M.value}',
        f'--max_params_m={_MAX_PARAMS_M.value}',
        f'--num_classes={digits.NUM_CLASSES}'])
    timings['scale'] = time.time() - start
    arch = report_lib.read_json(os.path.join(
        _stage_dir(report_lib.SCALE_DIR),
        job_lib.SCALE_RESULT))['series'][-1]['arch']
  if 'train' not in _SKIP.value:
    start = time.time()
    run_binary('asvit_tf.train', [
        '--experiment=asvit_imagenet', f'--config_file={_TRAIN_CONFIG.value}',
        f'--params_override={yaml.safe_dump(train_override(arch))}',
        '--mode=train_and_eval',
        f'--model_dir={_stage_dir(report_lib.TRAIN_DIR)}',
        f'--seed={_SEED.value}'])
    timings['train'] = time.time() - start
  report = report_lib.write_report(_OUTPUT_DIR.value, timings)
  print(f'\nreport: {report}', flush=True)


def run() -> None:
  """Console-script entry point (asvit-pipeline)."""
  cli.run(main)


if __name__ == '__main__':
  run()
