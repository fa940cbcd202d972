import torch

from trainer.layers.attention import topk_attention_masked
from trainer.oddoneout.attention import InstanceComparator, instance_topk, masked_dense_attention, topk_attention

from synth_scenes import one_thread  # noqa: F401 (autouse fixture)


def _setup(B=2, M=4, T=6, H=2, Dh=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    N = M * T
    q, k, v = (torch.randn(B, N, H, Dh, generator=g) for _ in range(3))
    sim = torch.nn.functional.normalize(torch.randn(B, N, 8, generator=g), dim=-1)
    inst = torch.arange(M).repeat_interleave(T).expand(B, -1)
    valid = torch.ones(B, N, dtype=torch.bool)
    if B > 1:
        valid[1, 3 * T:] = False  # the second scene has 3 real instances, the 4th is padding
    return q, k, v, sim, inst, valid


def test_topk_selects_only_other_real_instances():
    q, k, v, sim, inst, valid = _setup()
    idx, sel = instance_topk(sim, inst, valid, 5)
    assert idx.shape == (2, 24, 5) and sel.all()
    other = inst.gather(1, idx.flatten(1)).view_as(idx)
    assert (other != inst[..., None]).all()
    assert valid.gather(1, idx.flatten(1)).view_as(idx).all()
    # they are the 5 most similar of the allowed ones
    S = sim @ sim.transpose(1, 2)
    allowed = (inst[:, :, None] != inst[:, None, :]) & valid[:, None, :]
    best = S.masked_fill(~allowed, -2).topk(5, -1).values
    torch.testing.assert_close(S.gather(2, idx), best)


def test_topk_attention_equals_dense_attention_restricted_to_the_set():
    q, k, v, sim, inst, valid = _setup()
    idx, sel = instance_topk(sim, inst, valid, 7)
    out = topk_attention(q, k, v, idx, sel)
    torch.testing.assert_close(out, topk_attention_masked(q, k, v, idx), atol=1e-5, rtol=1e-5)  # CMT's reference
    mask = torch.zeros(2, 24, 24, dtype=torch.bool).scatter_(2, idx, True)
    torch.testing.assert_close(out, masked_dense_attention(q, k, v, mask), atol=1e-5, rtol=1e-5)


def test_topk_attention_with_k_above_all_tokens_is_dense_attention_over_other_instances():
    q, k, v, sim, inst, valid = _setup()
    idx, sel = instance_topk(sim, inst, valid, 1000)
    assert idx.shape[-1] == 24 and not sel.all()  # own-instance and padding slots are masked
    out = topk_attention(q, k, v, idx, sel)
    allowed = (inst[:, :, None] != inst[:, None, :]) & valid[:, None, :]
    torch.testing.assert_close(out, masked_dense_attention(q, k, v, allowed), atol=1e-5, rtol=1e-5)
    # and plain dense attention (SDPA) where every other token is allowed: a 2-instance scene
    inst2 = torch.arange(2).repeat_interleave(12).expand(2, -1)
    idx2, sel2 = instance_topk(sim, inst2, torch.ones(2, 24, dtype=torch.bool), 1000)
    out2 = topk_attention(q, k, v, idx2, sel2)
    for a in range(2):
        rows = slice(a * 12, (a + 1) * 12)
        cols = slice((1 - a) * 12, (2 - a) * 12)
        ref = torch.nn.functional.scaled_dot_product_attention(
            q[:, rows].transpose(1, 2), k[:, cols].transpose(1, 2), v[:, cols].transpose(1, 2)).transpose(1, 2)
        torch.testing.assert_close(out2[:, rows], ref, atol=1e-5, rtol=1e-5)


def test_a_lonely_instance_gets_zero_cross_attention():
    q, k, v, sim, _, _ = _setup(B=1, M=1)
    inst = torch.zeros(1, 6, dtype=torch.long)
    idx, sel = instance_topk(sim, inst, torch.ones(1, 6, dtype=torch.bool), 4)
    assert not sel.any()
    out = topk_attention(q, k, v, idx, sel)
    assert torch.isfinite(out).all() and (out == 0).all()


def test_comparator_ignores_padding_instances():
    torch.manual_seed(0)
    comp = InstanceComparator(in_dim=5, tokens=8, dim=16, heads=2, blocks=2, topk=6).eval()
    roi = torch.randn(1, 3, 8, 5)
    mask = torch.tensor([[True, True, False]])
    a = comp(roi, mask)
    roi2 = roi.clone()
    roi2[0, 2] = torch.randn(8, 5) * 10  # change the padding instance only
    b = comp(roi2, mask)
    assert a.shape == (1, 3)
    torch.testing.assert_close(a[:, :2], b[:, :2])
