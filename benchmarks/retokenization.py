"""Cost of progressive re-tokenization for As-ViT Small (Fig. 4, Table 6).

  python -m benchmarks.retokenization --batch_size=4 --steps=3 --format=json

GMACs (asvit_tf.counting) and measured training-step seconds at stage-1
stride 16, 8 and 4 on one model (the weights never change), their ratios to
stride 4 beside Fig. 4's 13.2 % and 28.5 %, and the FLOPs and wall-time
saving of each Table 6 schedule over 300 epochs against stride 4 throughout.
"""

import json
from typing import Any, Dict, List

from asvit_tf import cli
from asvit_tf import counting
from asvit_tf import retokenization
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import factory
from asvit_tf.modeling.layers import tokenization
from benchmarks import train_throughput

STRIDES = (16, 8, 4)


def benchmark(image_size: int, batch_size: int, steps: int) -> Dict[str, Any]:
  """Per-stride cost and per-schedule savings as a JSON-ready dict."""
  model = factory.build_classifier(arch_lib.parse_arch('small'),
                                   train_throughput.NUM_CLASSES, image_size)
  macs, seconds = {}, {}
  for stride in STRIDES:
    model.backbone.stride = stride
    macs[stride] = counting.count_macs(model, image_size, image_size)['total']
    seconds[stride] = train_throughput.train_step_seconds(
        model, batch_size, image_size, steps)
  strides = [{
      'stride': s,
      'dilation': tokenization.dilation_for_stride(
          model.backbone.arch.stages[0].kernel, s),
      'gmacs': macs[s] / 1e9,
      'flops_ratio': macs[s] / macs[4],
      'paper_flops_ratio': retokenization.PAPER_FLOPS_RATIO[s],
      'step_seconds': seconds[s],
      'time_ratio': seconds[s] / seconds[4],
  } for s in STRIDES]
  schedules = [{
      'paper_flops_saving': key,
      'phases': [{'stride': s, 'until_epoch': e} for s, e in phases],
      'flops_saving': 1 - retokenization.cost_fraction(phases, macs),
      'time_saving': 1 - retokenization.cost_fraction(phases, seconds),
      'paper_time_saving': retokenization.TABLE6_TIME_SAVING[key],
  } for key, phases in retokenization.TABLE6_SCHEDULES.items()]
  return {'model': 'As-ViT Small', 'image_size': image_size,
          'batch_size': batch_size, 'steps': steps, 'strides': strides,
          'schedules': schedules}


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  result = benchmark(train_throughput.IMAGE_SIZE.value,
                     train_throughput.BATCH.value, train_throughput.STEPS.value)
  if train_throughput.FORMAT.value == 'json':
    print(json.dumps(result, indent=2))
    return
  print(f'As-ViT Small, {result["image_size"]}x{result["image_size"]}, '
        f'train step at batch {result["batch_size"]} (median of '
        f'{result["steps"]})')
  print(f'{"stride":>6} {"dil.":>4} {"GMACs":>6} {"FLOPs":>7} {"paper":>6} '
        f'{"s/step":>7} {"time":>6}')
  for row in result['strides']:
    print(f'{row["stride"]:>6} {row["dilation"]:>4} {row["gmacs"]:>6.2f} '
          f'{row["flops_ratio"]:>7.1%} {row["paper_flops_ratio"]:>6.1%} '
          f'{row["step_seconds"]:>7.3f} {row["time_ratio"]:>6.1%}')
  print(f'\n{"Table 6 schedule":<26} {"FLOPs saving":>12} {"time saving":>11} '
        f'{"paper time":>10}')
  for row in result['schedules']:
    phases = ' / '.join(f'{p["stride"]}:{p["until_epoch"]}'
                        for p in row['phases'])
    print(f'{row["paper_flops_saving"]:>6} ({phases:<15}) '
          f'{row["flops_saving"]:>12.1%} {row["time_saving"]:>11.1%} '
          f'{row["paper_time_saving"]:>10.1%}')


if __name__ == '__main__':
  cli.run(main)
