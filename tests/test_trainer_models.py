import pytest
import torch

from trainer.layers.attention import TopKCrossAttention, topk_attention_gather, topk_attention_masked
from trainer.models import CMT, MODELS, ResNet18FPN, build_model, load_backbone_weights

TINY = dict(width=8, enc_dim=16, dim=32, heads=4, beta_dim=16, topk=10, blocks=2, norm="gn")


def _inputs(B=2, V=3, R=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = R // 8
    return (torch.randn(B, 3, R, R, generator=g), torch.randn(B, V, 1, R, R, generator=g),
            torch.rand(B, V, h, h, 3, generator=g) - 0.5, torch.rand(B, V, h, h, generator=g) > 0.3)


def test_encoder_default_shape():
    enc = ResNet18FPN().eval()
    with torch.no_grad():
        f = enc(torch.randn(1, 3, 256, 256))
    assert f.shape == (1, 128, 32, 32)
    assert torch.isfinite(f).all()


@pytest.mark.parametrize("extra", [{}, {"topk": 0}, {"pe3d": False}, {"box_head": True}, {"kernel": "masked"}])
def test_cmt_shapes_and_backward(extra):
    torch.manual_seed(0)
    m = build_model("cmt", **dict(TINY, **extra))
    q, r, p, v = _inputs()
    out = m(q, r, p, v)
    assert out["logit"].shape == (2,)
    assert out["M"].shape == (2, 64, 3 * 64)
    assert out["beta_v"].shape == (2, 3, 64, 16)
    assert torch.allclose(out["beta_v"].norm(dim=-1), torch.ones(2, 3, 64), atol=1e-5)
    if extra.get("topk") == 0:
        assert out["topk"] is None
    else:
        assert out["topk"].shape == (2, 64, 10)
    if extra.get("box_head"):
        assert out["box"].shape == (2, 4) and ((out["box"] >= 0) & (out["box"] <= 1)).all()
    else:
        assert out["box"] is None
    out["logit"].sum().backward()
    assert all(torch.isfinite(x.grad).all() for x in m.parameters() if x.grad is not None)


def test_query_only_shapes():
    m = build_model("query-only", width=8, enc_dim=16, box_head=True, norm="gn")
    out = m(torch.randn(3, 3, 64, 64))
    assert out["logit"].shape == (3,) and out["box"].shape == (3, 4)
    assert set(MODELS) == {"cmt", "query_only", "oddoneout"}
    with pytest.raises(ValueError):
        build_model("vit")


def test_topk_gather_equals_masked_dense():
    g = torch.Generator().manual_seed(1)
    B, Nq, Nv, H, Dh, k = 2, 37, 150, 4, 8, 11
    q = torch.randn(B, Nq, H, Dh, generator=g, dtype=torch.float64, requires_grad=True)
    kk = torch.randn(B, Nv, H, Dh, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(B, Nv, H, Dh, generator=g, dtype=torch.float64, requires_grad=True)
    idx = torch.randn(B, Nq, Nv, generator=g).topk(k, -1).indices
    a = topk_attention_gather(q, kk, v, idx)
    grads_a = torch.autograd.grad(a.pow(2).sum(), (q, kk, v))
    b = topk_attention_masked(q, kk, v, idx)
    grads_b = torch.autograd.grad(b.pow(2).sum(), (q, kk, v))
    assert a.shape == (B, Nq, H, Dh)
    assert torch.allclose(a, b, atol=1e-10)
    for x, y in zip(grads_a, grads_b):
        assert torch.allclose(x, y, atol=1e-10)
    # restricted to the set: changing a key outside every top-k set changes nothing
    outside = torch.ones(B, Nv, dtype=torch.bool)
    outside.scatter_(1, idx.flatten(1), False)
    kk2 = kk.detach().clone()
    kk2[outside] += 5.0
    assert torch.allclose(topk_attention_gather(q, kk2, v, idx), a)
    # with k = Nv the top-k attention is full attention
    full = torch.arange(Nv).expand(B, Nq, Nv)
    dense = torch.softmax(torch.einsum("bqhd,bvhd->bhqv", q, kk) * Dh**-0.5, -1)
    assert torch.allclose(topk_attention_gather(q, kk, v, full), torch.einsum("bhqv,bvhd->bqhd", dense, v), atol=1e-10)


def test_cmt_kernels_agree():
    torch.manual_seed(0)
    a = build_model("cmt", **TINY, kernel="gather").eval()
    b = build_model("cmt", **TINY, kernel="masked").eval()
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        x = _inputs()
        assert torch.allclose(a(*x)["logit"], b(*x)["logit"], atol=1e-5)


def test_cross_attention_module_modes():
    m = TopKCrossAttention(16, 4, "dense")
    out = m(torch.randn(2, 5, 16), torch.randn(2, 9, 16), None)
    assert out.shape == (2, 5, 16)
    with pytest.raises(ValueError):
        TopKCrossAttention(16, 4, "sparse")


def test_load_local_backbone_weights(tmp_path):
    src = ResNet18FPN(width=8, out_dim=16)
    sd = {k: v for k, v in src.state_dict().items() if k.startswith(("conv1", "bn1", "layer"))}
    sd["fc.weight"] = torch.zeros(10, 64)  # a classifier head is ignored
    torch.save({"state_dict": sd}, tmp_path / "r18.pt")
    m = CMT(**dict(TINY, pretrained=str(tmp_path / "r18.pt")))
    assert torch.equal(m.encoder.layer3[0].conv1.weight, src.layer3[0].conv1.weight)
    missing = load_backbone_weights(ResNet18FPN(width=8, out_dim=16), tmp_path / "r18.pt")
    assert missing and all(k.startswith(("lateral", "smooth")) for k in missing)
