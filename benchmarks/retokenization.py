"""Cost of progressive re-tokenization (Sec. 4, Fig. 4, Table 6).

  python -m benchmarks.retokenization --arch=small --batch_size=4 --steps=3
  python -m benchmarks.retokenization --arch=large --format=json

GMACs (asvit_tf.counting) and measured training-step seconds at stage-1
stride 16, 8 and 4 on one model, their ratios to stride 4 beside Fig. 4's
13.2 % and 28.5 %, and the FLOPs and wall-time saving of each Table 6
schedule over 300 epochs against stride 4 throughout. Table 6 and Fig. 4 are
the paper's As-ViT Large (its 83.5 % baseline); the default here is As-ViT
Small.

The steps run through Model Garden's standard trainer (`base_trainer.Trainer`
and its Orbit loop) with the `asvit_imagenet` task and optimizer (AdamW and
the EMA), on a fixed synthetic batch: one trainer whose loop is traced once
with phases at stride 16, 8 and 4, its step counter set into each phase in
turn (the task's in-graph phase switch). What the switch costs: that loop's
first call (the trace of every phase) and its stride-4 step beside a trainer
of the experiment without phases, their steps alternating; "vs no phases"
is a schedule's time saving against that trainer's stride-4 step.

Beside our counts, the same figures for the stage-1 projection computed the
way a Keras model has to: `Conv2D` refuses a stride above 1 together with a
dilation above 1, so a reduced stride becomes a stride-1 dilated convolution
over the whole image of which every stride-th output is kept. That
projection then costs as much at stride 16 and 8 as a full-resolution
convolution at stride 1 (for As-ViT Large 1.73 GMACs, 7.8 % of the model),
the share of the FLOPs that does not shrink with the token count which
Fig. 4's ratios need. Our projection computes only the kept outputs.
"""

import json
import time
from typing import Any, Dict, List, Sequence, Tuple

from absl import flags
import tensorflow as tf
from official.core import base_trainer
from official.core import config_definitions
from official.core import exp_factory
from official.core import task_factory

from asvit_tf import cli
from asvit_tf import counting
from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf import retokenization
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling.layers import tokenization
from benchmarks import train_throughput

ARCH = flags.DEFINE_string(
    'arch', 'small', 'A preset (seed, small, base, large) or an architecture '
    'string; Table 6 and Fig. 4 are the paper\'s large.')

STRIDES = (16, 8, 4)
IMAGE_CHANNELS = 3
# Steps of each reduced phase in the timed schedule (more than are timed).
PHASE_STEPS = 1000


def tokenizer_macs(arch: arch_lib.ArchSpec, image_size: int,
                   stride: int) -> int:
  """MACs of the stage-1 projection that outputs (image_size/stride)^2 tokens."""
  kernel = arch.stages[0].kernel
  return ((image_size // stride) ** 2 * kernel ** 2 * IMAGE_CHANNELS
          * arch.stage_width(1))


def keras_tokenizer_macs(arch: arch_lib.ArchSpec, image_size: int,
                         stride: int) -> int:
  """MACs of the stage-1 projection as Keras' `Conv2D` computes it.

  With dilation 1 (stride 4) it strides directly; with a dilation above 1 it
  must run at stride 1 over the whole image (padding 'same'), and the
  stride-th outputs are kept afterwards.
  """
  dilation = tokenization.dilation_for_stride(arch.stages[0].kernel, stride)
  return tokenizer_macs(arch, image_size, stride if dilation == 1 else 1)


def experiment(arch_text: str, image_size: int,
               phases: Sequence[Tuple[int, int]]
               ) -> config_definitions.ExperimentConfig:
  """`asvit_imagenet` for `arch_text` at `image_size` with re-tokenization
  `phases` of (stride, until_step)."""
  params = exp_factory.get_exp_config('asvit_imagenet')
  params.override({'task': {
      'model': {'num_classes': train_throughput.NUM_CLASSES,
                'input_size': [image_size, image_size, IMAGE_CHANNELS],
                'backbone': {'asvit': {'arch': arch_text}}},
      'retokenization': {'phases': [{'stride': s, 'until_step': e}
                                    for s, e in phases]}}})
  return params


def standard_trainer(params: config_definitions.ExperimentConfig,
                     batch_size: int) -> base_trainer.Trainer:
  """Model Garden's trainer of the experiment's task on one fixed batch."""
  task = task_factory.get_task(params.task)
  model = task.build_model()
  optimizer = task.create_optimizer(params.trainer.optimizer_config,
                                    params.runtime)
  images = tf.random.normal(
      [batch_size] + list(params.task.model.input_size), seed=0)
  labels = tf.one_hot(tf.random.uniform(
      [batch_size], 0, train_throughput.NUM_CLASSES, tf.int32, seed=0),
                      train_throughput.NUM_CLASSES)
  dataset = tf.data.Dataset.from_tensors((images, labels)).repeat()
  return base_trainer.Trainer(params, task, model, optimizer, train=True,
                              evaluate=False, train_dataset=dataset)


def step_seconds(runs: Sequence[Tuple[base_trainer.Trainer, int]],
                 steps: int) -> List[Tuple[float, float]]:
  """For each (trainer, start step): seconds of its first step (with the
  trace on the loop's first call) and the median of `steps` more. The
  trainers' steps alternate, so a change of load hits all of them alike."""
  for trainer, start_step in runs:
    trainer.global_step.assign(start_step)
    trainer.optimizer.iterations.assign(start_step)
  one_step = tf.constant(1, tf.int32)
  times = [[] for _ in runs]
  for _ in range(steps + 1):
    for (trainer, _), run_times in zip(runs, times):
      start = time.perf_counter()
      trainer.train(one_step)['training_loss'].numpy()
      run_times.append(time.perf_counter() - start)
  return [(t[0], sorted(t[1:])[steps // 2]) for t in times]


def benchmark(arch_text: str, image_size: int, batch_size: int,
              steps: int) -> Dict[str, Any]:
  """Per-stride cost and per-schedule savings as a JSON-ready dict."""
  arch = arch_lib.parse_arch(arch_text)
  timed_phases = [(s, PHASE_STEPS * (i + 1))
                  for i, s in enumerate(STRIDES[:-1])]
  scheduled = standard_trainer(
      experiment(arch_text, image_size, timed_phases), batch_size)
  baseline = standard_trainer(experiment(arch_text, image_size, ()),
                              batch_size)
  model = scheduled.model
  macs, keras_macs, seconds, first_call = {}, {}, {}, {}
  for phase in scheduled.task.schedule.phases:
    stride = phase.stride
    with retokenization.at_stride(model.backbone, stride):
      macs[stride] = counting.count_macs(model, image_size,
                                         image_size)['total']
    keras_macs[stride] = (macs[stride]
                          - tokenizer_macs(arch, image_size, stride)
                          + keras_tokenizer_macs(arch, image_size, stride))
    runs = [(scheduled, phase.start_step)]
    if stride == tokenization.FULL_RESOLUTION_STRIDE:
      runs.append((baseline, 0))
    timings = step_seconds(runs, steps)
    first_call[stride], seconds[stride] = timings[0]
  baseline_first_call, baseline_seconds = timings[1]  # The last phase: 4.
  strides = [{
      'stride': s,
      'dilation': tokenization.dilation_for_stride(arch.stages[0].kernel, s),
      'gmacs': macs[s] / 1e9,
      'flops_ratio': macs[s] / macs[4],
      'keras_tokenizer_gmacs': keras_macs[s] / 1e9,
      'keras_tokenizer_flops_ratio': keras_macs[s] / keras_macs[4],
      'paper_flops_ratio': retokenization.PAPER_FLOPS_RATIO[s],
      'step_seconds': seconds[s],
      'time_ratio': seconds[s] / seconds[4],
  } for s in STRIDES]
  switch = {
      'first_call_seconds': first_call[STRIDES[0]],
      'baseline_first_call_seconds': baseline_first_call,
      'stride4_step_seconds': seconds[4],
      'baseline_step_seconds': baseline_seconds,
      'stride4_step_cost': seconds[4] / baseline_seconds - 1,
  }
  schedules = [{
      'paper_flops_saving': key,
      'phases': [{'stride': s, 'until_epoch': e} for s, e in phases],
      'flops_saving': 1 - retokenization.cost_fraction(phases, macs),
      'keras_tokenizer_flops_saving':
          1 - retokenization.cost_fraction(phases, keras_macs),
      'time_saving': 1 - retokenization.cost_fraction(phases, seconds),
      'time_saving_vs_no_phases': 1 - retokenization.cost_fraction(
          phases, seconds) * seconds[4] / baseline_seconds,
      'paper_time_saving': retokenization.TABLE6_TIME_SAVING[key],
  } for key, phases in retokenization.TABLE6_SCHEDULES.items()]
  name = arch_text if arch_text in arch_lib.PRESET_STRINGS else None
  return {'model': name, 'arch': arch_lib.format_arch(arch),
          'image_size': image_size, 'batch_size': batch_size, 'steps': steps,
          'strides': strides, 'switch': switch, 'schedules': schedules}


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  result = benchmark(ARCH.value, train_throughput.IMAGE_SIZE.value,
                     train_throughput.BATCH.value, train_throughput.STEPS.value)
  if train_throughput.FORMAT.value == 'json':
    print(json.dumps(result, indent=2))
    return
  print(f'{result["model"] or "As-ViT"} ({result["arch"]}), '
        f'{result["image_size"]}x{result["image_size"]}, train step of Model '
        f'Garden\'s trainer at batch {result["batch_size"]} (median of '
        f'{result["steps"]}), one loop through all phases; "Keras": the '
        'dilated projection at stride 1, then subsampled')
  print(f'{"stride":>6} {"dil.":>4} {"GMACs":>6} {"FLOPs":>7} '
        f'{"Keras GMACs":>11} {"Keras":>6} {"paper":>6} {"s/step":>7} '
        f'{"time":>6}')
  for row in result['strides']:
    print(f'{row["stride"]:>6} {row["dilation"]:>4} {row["gmacs"]:>6.2f} '
          f'{row["flops_ratio"]:>7.1%} {row["keras_tokenizer_gmacs"]:>11.2f} '
          f'{row["keras_tokenizer_flops_ratio"]:>6.1%} '
          f'{row["paper_flops_ratio"]:>6.1%} {row["step_seconds"]:>7.3f} '
          f'{row["time_ratio"]:>6.1%}')
  switch = result['switch']
  print(f'\nPhase switch against a loop without phases: first call (trace '
        f'and a step) {switch["first_call_seconds"]:.1f} s vs '
        f'{switch["baseline_first_call_seconds"]:.1f} s; stride-4 step '
        f'{switch["stride4_step_seconds"]:.3f} s vs '
        f'{switch["baseline_step_seconds"]:.3f} s '
        f'({switch["stride4_step_cost"]:+.1%})')
  print(f'\n{"Table 6 schedule":<26} {"FLOPs saving":>12} {"Keras":>6} '
        f'{"time saving":>11} {"vs no phases":>12} {"paper time":>10}')
  for row in result['schedules']:
    phases = ' / '.join(f'{p["stride"]}:{p["until_epoch"]}'
                        for p in row['phases'])
    print(f'{row["paper_flops_saving"]:>6} ({phases:<15}) '
          f'{row["flops_saving"]:>12.1%} '
          f'{row["keras_tokenizer_flops_saving"]:>6.1%} '
          f'{row["time_saving"]:>11.1%} '
          f'{row["time_saving_vs_no_phases"]:>12.1%} '
          f'{row["paper_time_saving"]:>10.1%}')

if __name__ == '__main__':
  cli.run(main)
