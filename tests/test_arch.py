"""Architecture strings, presets and Table 1 validation."""

import pytest

from asvit_tf.modeling import arch


def test_seed_string_defaults_depth_and_width():
  spec = arch.parse_arch('8,2,3|4,1,2|4,1,4|4,1,6|32')
  assert spec.depths == (1, 1, 1, 1)
  assert spec.width == 32
  assert spec == arch.parse_arch('seed')
  assert [s.kernel for s in spec.stages] == [8, 4, 4, 4]
  assert [s.expansion for s in spec.stages] == [3, 2, 4, 6]


def test_large_string_matches_preset_and_round_trips():
  spec = arch.parse_arch('8,2,3,5|4,1,2,2|4,1,4,5|4,1,6,2|32,180')
  assert spec == arch.parse_arch('large')
  assert arch.parse_arch(arch.format_arch(spec)) == spec
  assert [spec.stage_width(n) for n in range(1, 5)] == [180, 360, 720, 1024]
  assert [spec.stage_heads(n) for n in range(1, 5)] == [4, 8, 16, 32]


@pytest.mark.parametrize('text, fragments', [
    ('9,2,3|4,1,2|4,1,4|4,1,6|32', ['stage 1 kernel K=9', '4, 5, 6, 7, 8']),
    ('8,3,3|4,1,2|4,1,4|4,1,6|32', ['stage 1 splits S=3', '2, 4, 8']),
    ('8,2,3|4,1,2|4,1,4|4,2,6|32', ['stage 4 splits S=2', 'allowed: 1']),
    ('8,2,3|4,1,2|4,1,7|4,1,6|32', ['stage 3 expansion E=7', '2, 3, 4, 5, 6']),
    ('8,2,3|4,1,2|4,1,4|4,1,6|24', ['heads=24', '16, 32, 64']),
    ('8,2,3,0|4,1,2|4,1,4|4,1,6|32', ['stage 1 depth L=0', '>= 1']),
    ('8,2,3|4,1,2|4,1,4|32', ['4 "|"-separated parts', 'seed, small']),
    ('8,2|4,1,2|4,1,4|4,1,6|32', ['stage 1', '2 fields', 'K,S,E']),
    ('8,x,3|4,1,2|4,1,4|4,1,6|32', ["stage 1 splits S='x'",
                                    'is not an integer; allowed: an integer']),
    ('8,2,3|4,1,2|4,1,4|4,1,6|64,7', ['width C=7', 'fewer than its 8 heads',
                                         'C >= 8 for 64 heads']),
    ('tiny', ['tiny', 'seed, small, base, large']),
])
def test_bad_strings_name_field_value_and_choices(text, fragments):
  with pytest.raises(arch.ArchError) as error:
    arch.parse_arch(text)
  message = str(error.value)
  assert '\n' not in message
  for fragment in fragments:
    assert fragment in message


def test_arch_lists_split_presets_on_commas_and_strings_on_semicolons():
  assert arch.split_arch_list('seed, small') == ['seed', 'small']
  assert arch.split_arch_list('8,2,3|4,1,2|4,1,4|4,1,6|32; large') == [
      '8,2,3|4,1,2|4,1,4|4,1,6|32', ' large']
  assert arch.split_arch_list('8,2,3|4,1,2|4,1,4|4,1,6|32') == [
      '8,2,3|4,1,2|4,1,4|4,1,6|32']
  with pytest.raises(arch.ArchError) as error:
    arch.split_arch_list(' ; ')
  assert str(error.value) == (
      "arch list ' ; ' names no architecture; allowed: presets separated by "
      '"," or architecture strings by ";"')
