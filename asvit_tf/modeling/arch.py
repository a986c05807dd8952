"""As-ViT architecture specification: the authors' strings, Table 1 and Table 4.

An architecture is written `K,S,E[,L]|K,S,E[,L]|K,S,E[,L]|K,S,E[,L]|heads[,C]`
(docs/design.md section 1): per stage the tokenizer kernel K, attention
splits S, FFN expansion E and depth L (default 1), then the stage-4 head count and the base
width C (default 32).
"""

import dataclasses
from typing import Dict, List, Sequence, Tuple

from asvit_tf import errors

NUM_STAGES = 4
MAX_WIDTH = 1024
DEFAULT_DEPTH = 1
DEFAULT_WIDTH = 32

# Search space of Table 1, per stage (index 0 is stage 1).
KERNEL_CHOICES: Tuple[Tuple[int, ...], ...] = (
    (4, 5, 6, 7, 8), (2, 3, 4), (2, 3, 4), (2, 3, 4))
SPLIT_CHOICES: Tuple[Tuple[int, ...], ...] = ((2, 4, 8), (1, 2, 4), (1, 2), (1,))
EXPANSION_CHOICES: Tuple[Tuple[int, ...], ...] = ((2, 3, 4, 5, 6),) * NUM_STAGES
HEAD_CHOICES: Tuple[int, ...] = (16, 32, 64)
# Stage-1 tokens are 4x4 pixels at full resolution; later stages halve the map.
STAGE_STRIDES: Tuple[int, ...] = (4, 8, 16, 32)


class ArchError(errors.UsageError):
  """An architecture string or field outside the As-ViT search space."""


@dataclasses.dataclass(frozen=True)
class StageSpec:
  """One stage: tokenizer kernel, attention splits, FFN expansion, depth."""
  kernel: int
  splits: int
  expansion: int
  depth: int = DEFAULT_DEPTH


@dataclasses.dataclass(frozen=True)
class ArchSpec:
  """A full As-ViT topology with its depth and width (Fig. 1, Table 4)."""
  stages: Tuple[StageSpec, ...]
  heads: int
  width: int = DEFAULT_WIDTH

  def __post_init__(self):
    validate(self)

  def stage_width(self, stage: int) -> int:
    """Channels of stage `stage` (1-based): C * 2**(stage-1), capped at 1024."""
    return min(self.width * 2 ** (stage - 1), MAX_WIDTH)

  def stage_heads(self, stage: int) -> int:
    """Heads of stage `stage` (1-based): h/8, h/4, h/2, h."""
    return self.heads // 2 ** (NUM_STAGES - stage)

  def stage_attention_width(self, stage: int) -> int:
    """Channels of q, k and v in stage `stage`: heads * (width // heads)."""
    heads = self.stage_heads(stage)
    return heads * (self.stage_width(stage) // heads)

  @property
  def depths(self) -> Tuple[int, ...]:
    return tuple(s.depth for s in self.stages)

  def replace(self, **changes) -> 'ArchSpec':
    """A copy with `heads`, `width` or `stages` changed (validated again)."""
    return dataclasses.replace(self, **changes)

  def with_depths(self, depths: Sequence[int]) -> 'ArchSpec':
    """A copy with per-stage depths `depths`."""
    stages = tuple(dataclasses.replace(s, depth=int(d))
                   for s, d in zip(self.stages, depths))
    return self.replace(stages=stages)

  def __str__(self) -> str:
    return format_arch(self)


def _check_choice(field: str, value: int, allowed: Sequence[int]) -> None:
  if value not in allowed:
    raise ArchError(f'{field}={value} is not in the search space; allowed: '
                    f'{", ".join(str(a) for a in allowed)}')


def validate(arch: ArchSpec) -> None:
  """Checks every field against Table 1; raises ArchError naming the field."""
  if len(arch.stages) != NUM_STAGES:
    raise ArchError(f'stages={len(arch.stages)} given; allowed: exactly '
                    f'{NUM_STAGES}')
  for i, stage in enumerate(arch.stages):
    n = i + 1
    _check_choice(f'stage {n} kernel K', stage.kernel, KERNEL_CHOICES[i])
    _check_choice(f'stage {n} splits S', stage.splits, SPLIT_CHOICES[i])
    _check_choice(f'stage {n} expansion E', stage.expansion,
                  EXPANSION_CHOICES[i])
    if stage.depth < 1:
      raise ArchError(f'stage {n} depth L={stage.depth}; allowed: an integer '
                      '>= 1')
  _check_choice('heads', arch.heads, HEAD_CHOICES)
  if arch.width < 1:
    raise ArchError(f'width C={arch.width}; allowed: an integer >= 1')
  for n in range(1, NUM_STAGES + 1):
    width, heads = arch.stage_width(n), arch.stage_heads(n)
    if width < heads:
      raise ArchError(
          f'width C={arch.width} gives stage {n} {width} channels, fewer '
          f'than its {heads} heads; allowed: C >= {min_width(arch.heads)} '
          f'for {arch.heads} heads')


def min_width(heads: int) -> int:
  """Smallest base width C whose every stage has a channel per head."""
  return max(1, -(-heads // 2 ** (NUM_STAGES - 1)))


def _parse_int(field: str, text: str) -> int:
  try:
    return int(text.strip())
  except ValueError:
    raise ArchError(f'{field}={text.strip()!r} is not an integer; allowed: '
                    'an integer') from None


def parse_arch(text: str) -> ArchSpec:
  """Parses an authors' architecture string or a preset name."""
  text = text.strip()
  if text in PRESET_STRINGS:
    text = PRESET_STRINGS[text]
  parts = text.split('|')
  if len(parts) != NUM_STAGES + 1:
    raise ArchError(
        f'arch {text!r} has {len(parts)} "|"-separated parts; allowed: a '
        f'preset ({", ".join(PRESET_STRINGS)}) or '
        '"K,S,E[,L]|K,S,E[,L]|K,S,E[,L]|K,S,E[,L]|heads[,C]"')
  stages = []
  for i, part in enumerate(parts[:NUM_STAGES]):
    fields = part.split(',')
    if len(fields) not in (3, 4):
      raise ArchError(f'stage {i + 1} {part!r} has {len(fields)} fields; '
                      'allowed: "K,S,E" or "K,S,E,L"')
    names = ('kernel K', 'splits S', 'expansion E', 'depth L')
    values = [_parse_int(f'stage {i + 1} {name}', f)
              for name, f in zip(names, fields)]
    stages.append(StageSpec(*values))
  tail = parts[NUM_STAGES].split(',')
  if len(tail) not in (1, 2):
    raise ArchError(f'last part {parts[NUM_STAGES]!r} has {len(tail)} fields; '
                    'allowed: "heads" or "heads,C"')
  heads = _parse_int('heads', tail[0])
  width = _parse_int('width C', tail[1]) if len(tail) == 2 else DEFAULT_WIDTH
  return ArchSpec(tuple(stages), heads, width)


def split_arch_list(text: str) -> List[str]:
  """The architectures a list names: presets separated by ',' ('seed,small')
  or architecture strings by ';'; raises an ArchError when it names none."""
  if ';' in text:
    items = [item for item in text.split(';') if item.strip()]
  else:
    names = [name.strip() for name in text.split(',')]
    items = names if all(n in PRESET_STRINGS for n in names) else [text]
  if not items:
    raise ArchError(f'arch list {text!r} names no architecture; allowed: '
                    'presets separated by "," or architecture strings by ";"')
  return items


def format_arch(arch: ArchSpec) -> str:
  """The authors' string for `arch`, with L and C always written."""
  stages = '|'.join(f'{s.kernel},{s.splits},{s.expansion},{s.depth}'
                    for s in arch.stages)
  return f'{stages}|{arch.heads},{arch.width}'


# Table 4: the searched seed topology and the published family.
PRESET_STRINGS: Dict[str, str] = {
    'seed': '8,2,3,1|4,1,2,1|4,1,4,1|4,1,6,1|32,32',
    'small': '8,2,3,3|4,1,2,1|4,1,4,4|4,1,6,2|32,88',
    'base': '8,2,3,3|4,1,2,1|4,1,4,5|4,1,6,2|32,116',
    'large': '8,2,3,5|4,1,2,2|4,1,4,5|4,1,6,2|32,180',
}

# Paper's numbers at 224x224, 1000 classes (Table 5/7): params (M), GMACs.
PAPER_COST: Dict[str, Tuple[float, float]] = {
    'seed': (2.4, 0.5),
    'small': (29.0, 5.3),
    'base': (52.6, 8.9),
    'large': (88.1, 22.6),
}
