"""Training-free topology search (Algorithm 1, Sec. 3.3).

`space` (Table 1 as 13 categorical dimensions), `policy` (the REINFORCE
policy and its Adam), `reinforce` (reward, baseline and one resumable search);
`python -m asvit_tf.search` is the binary.
"""
