import pytest
import torch

from datagen.errors import InputError
from trainer.oddoneout.teacher import DinoViT, dinov2_vits14, load_teacher, save_vit, tiny_vit

from synth_scenes import one_thread  # noqa: F401 (autouse fixture)


def test_vits14_has_the_official_key_layout():
    sd = dinov2_vits14().state_dict()
    assert sd["pos_embed"].shape == (1, 1 + 37 * 37, 384)
    assert sd["cls_token"].shape == (1, 1, 384) and sd["mask_token"].shape == (1, 384)
    assert sd["patch_embed.proj.weight"].shape == (384, 3, 14, 14)
    for name, shape in [("norm1.weight", (384,)), ("attn.qkv.weight", (1152, 384)), ("attn.proj.weight", (384, 384)),
                        ("ls1.gamma", (384,)), ("norm2.bias", (384,)), ("mlp.fc1.weight", (1536, 384)),
                        ("mlp.fc2.weight", (384, 1536)), ("ls2.gamma", (384,))]:
        assert sd[f"blocks.11.{name}"].shape == shape
    assert "blocks.12.norm1.weight" not in sd and sd["norm.weight"].shape == (384,)
    assert sum(v.numel() for v in sd.values()) == 22_056_576  # ViT-S/14 + mask_token: 22.06 M


def test_teacher_loads_a_saved_state_dict_and_gives_patch_features(tmp_path):
    torch.manual_seed(0)
    vit = tiny_vit(dim=32, depth=2, patch=8, pos_grid=4)
    for p in vit.parameters():  # non-trivial layer scales, so that every block matters
        torch.nn.init.normal_(p, std=0.2)
    path = save_vit(vit, tmp_path / "dinov2_tiny.pth")
    teacher = load_teacher(path)
    assert teacher.dim == 32 and len(teacher.vit.blocks) == 2 and teacher.vit.patch == 8
    assert not any(p.requires_grad for p in teacher.parameters())
    rgb = torch.rand(2, 3, 48, 40)
    f = teacher(rgb)
    assert f.shape == (2, 32, 6, 5)  # 48/8 x 40/8 patches; pos_embed interpolated from 4 x 4
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        ref = vit.eval()((rgb - mean) / std)
    torch.testing.assert_close(f, ref)
    teacher.train()
    assert not teacher.training  # stays frozen in eval mode
    # an odd size is resized to a multiple of the patch; the 4 x 4 grid needs no interpolation
    assert teacher(torch.rand(1, 3, 30, 33)).shape == (1, 32, 4, 4)


def test_chunked_block_keys_and_wrappers_load(tmp_path):
    vit = tiny_vit(dim=16, depth=2, patch=8)
    sd = {k.replace("blocks.1.", "blocks.0.1.").replace("blocks.0.norm", "blocks.0.0.norm") if k.startswith("blocks.") else k: v
          for k, v in vit.state_dict().items()}
    sd = {k: v for k, v in sd.items() if k != "mask_token"}
    torch.save({"model": sd}, tmp_path / "wrapped.pth")
    t = load_teacher(tmp_path / "wrapped.pth")
    assert len(t.vit.blocks) == 2


def test_missing_teacher_file_is_a_one_line_error_naming_it(tmp_path):
    path = tmp_path / "dinov2_vits14_pretrain.pth"
    with pytest.raises(InputError) as e:
        load_teacher(path)
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg and "not found" in msg


@pytest.mark.parametrize("content", ["garbage", "other_model", "bad_shape"])
def test_mismatching_teacher_file_is_a_one_line_error_naming_it(tmp_path, content):
    path = tmp_path / f"{content}.pth"
    if content == "garbage":
        path.write_bytes(b"not a torch file")
    elif content == "other_model":
        torch.save(torch.nn.Linear(3, 4).state_dict(), path)
    else:
        sd = tiny_vit(dim=32).state_dict()
        sd["blocks.1.attn.qkv.weight"] = torch.zeros(5, 5)
        torch.save(sd, path)
    with pytest.raises(InputError) as e:
        load_teacher(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and "\n" not in msg


def test_pos_embed_interpolation_keeps_the_native_grid():
    vit = DinoViT(patch=4, dim=8, depth=1, heads=1, mlp_hidden=16, pos_grid=5)
    assert vit.pos_for(5, 5) is vit.pos_embed
    pe = vit.pos_for(3, 7)
    assert pe.shape == (1, 1 + 21, 8)
    torch.testing.assert_close(pe[:, 0], vit.pos_embed[:, 0])
