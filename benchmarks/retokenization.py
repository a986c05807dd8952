"""Cost of progressive re-tokenization (Sec. 4, Fig. 4, Table 6).

  python -m benchmarks.retokenization --arch=small --batch_size=4 --steps=3
  python -m benchmarks.retokenization --arch=large --format=json

GMACs (asvit_tf.counting) and measured training-step seconds (float32,
through the task's `train_step` as in benchmarks/train_throughput.py) at
stage-1 stride 16, 8 and 4 on one model (the weights never change), their
ratios to stride 4 beside Fig. 4's 13.2 % and 28.5 %, and the FLOPs and
wall-time saving of each Table 6 schedule over 300 epochs against stride 4
throughout. Table 6 and Fig. 4 are the paper's As-ViT Large (its 83.5 %
baseline); the issue's default here is As-ViT Small.

Beside our counts, the same figures for the stage-1 projection computed the
way a Keras model has to: `Conv2D` refuses a stride above 1 together with a
dilation above 1, so a reduced stride becomes a stride-1 dilated convolution
over the whole image of which every stride-th output is kept. That
projection then costs as much at stride 16 and 8 as a full-resolution
convolution at stride 1 (for As-ViT Large 1.73 GMACs, 7.8 % of the model),
the share of the FLOPs that does not shrink with the token count which
Fig. 4's ratios need. Our projection computes only the kept outputs.
"""

import functools
import json
from typing import Any, Dict, List

from absl import flags

from asvit_tf import cli
from asvit_tf import counting
from asvit_tf import retokenization
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling.layers import tokenization
from benchmarks import train_throughput

ARCH = flags.DEFINE_string(
    'arch', 'small', 'A preset (seed, small, base, large) or an architecture '
    'string; Table 6 and Fig. 4 are the paper\'s large.')

STRIDES = (16, 8, 4)
IMAGE_CHANNELS = 3


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


def benchmark(arch_text: str, image_size: int, batch_size: int,
              steps: int) -> Dict[str, Any]:
  """Per-stride cost and per-schedule savings as a JSON-ready dict."""
  arch = arch_lib.parse_arch(arch_text)
  task, model, optimizer = train_throughput.build(
      functools.partial(train_throughput.asvit_task, arch=arch_text),
      'float32', image_size)
  macs, keras_macs, seconds = {}, {}, {}
  for stride in STRIDES:
    model.backbone.stride = stride
    macs[stride] = counting.count_macs(model, image_size, image_size)['total']
    keras_macs[stride] = (macs[stride]
                          - tokenizer_macs(arch, image_size, stride)
                          + keras_tokenizer_macs(arch, image_size, stride))
    seconds[stride] = train_throughput.train_step_seconds(
        task, model, optimizer, batch_size, image_size, steps)
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
  schedules = [{
      'paper_flops_saving': key,
      'phases': [{'stride': s, 'until_epoch': e} for s, e in phases],
      'flops_saving': 1 - retokenization.cost_fraction(phases, macs),
      'keras_tokenizer_flops_saving':
          1 - retokenization.cost_fraction(phases, keras_macs),
      'time_saving': 1 - retokenization.cost_fraction(phases, seconds),
      'paper_time_saving': retokenization.TABLE6_TIME_SAVING[key],
  } for key, phases in retokenization.TABLE6_SCHEDULES.items()]
  name = arch_text if arch_text in arch_lib.PRESET_STRINGS else None
  return {'model': name, 'arch': arch_lib.format_arch(arch),
          'image_size': image_size, 'batch_size': batch_size, 'steps': steps,
          'strides': strides, 'schedules': schedules}


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  result = benchmark(ARCH.value, train_throughput.IMAGE_SIZE.value,
                     train_throughput.BATCH.value, train_throughput.STEPS.value)
  if train_throughput.FORMAT.value == 'json':
    print(json.dumps(result, indent=2))
    return
  print(f'{result["model"] or "As-ViT"} ({result["arch"]}), '
        f'{result["image_size"]}x{result["image_size"]}, train step at batch '
        f'{result["batch_size"]} (median of {result["steps"]}); "Keras": the '
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
  print(f'\n{"Table 6 schedule":<26} {"FLOPs saving":>12} {"Keras":>6} '
        f'{"time saving":>11} {"paper time":>10}')
  for row in result['schedules']:
    phases = ' / '.join(f'{p["stride"]}:{p["until_epoch"]}'
                        for p in row['phases'])
    print(f'{row["paper_flops_saving"]:>6} ({phases:<15}) '
          f'{row["flops_saving"]:>12.1%} '
          f'{row["keras_tokenizer_flops_saving"]:>6.1%} '
          f'{row["time_saving"]:>11.1%} {row["paper_time_saving"]:>10.1%}')


if __name__ == '__main__':
  cli.run(main)
