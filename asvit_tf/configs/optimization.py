"""The paper's optimizer: AdamW, linear warm-up, cosine decay (Sec. 5, App. A).

Shared by the ImageNet and the COCO experiments; both use learning rate 1e-3.
"""

from typing import Any, Dict, Optional

from official.modeling import optimization


def adamw_cosine(weight_decay: float, decay_steps: int, warmup_steps: int,
                 offset: int = 0, learning_rate: float = 1e-3,
                 ema_decay: Optional[float] = None,
                 **adamw_options: Any) -> optimization.OptimizationConfig:
  """Model Garden's AdamW with linear warm-up from 0 and cosine decay.

  Args:
    weight_decay: decoupled weight decay rate.
    decay_steps: length of the cosine decay.
    warmup_steps: steps of linear warm-up from 0.
    offset: steps before the cosine starts (the warm-up's, to decay after it).
    learning_rate: peak learning rate.
    ema_decay: decay of Model Garden's EMA of the weights; None: no EMA.
    **adamw_options: more fields of Model Garden's AdamW config, e.g. which
      variables are decayed.
  """
  config: Dict[str, Any] = {
      'optimizer': {'type': 'adamw',
                    'adamw': dict(weight_decay_rate=weight_decay,
                                  **adamw_options)},
      'learning_rate': {'type': 'cosine',
                        'cosine': {'initial_learning_rate': learning_rate,
                                   'decay_steps': decay_steps,
                                   'offset': offset}},
      'warmup': {'type': 'linear',
                 'linear': {'warmup_steps': warmup_steps,
                            'warmup_learning_rate': 0.0}},
  }
  if ema_decay is not None:
    config['ema'] = {'average_decay': ema_decay,
                     'trainable_weights_only': False}
  return optimization.OptimizationConfig(config)
