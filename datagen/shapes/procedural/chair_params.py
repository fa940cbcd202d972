"""The parameter space of the procedural chairs: every random choice of a chair, drawn once
(:func:`sample_chair_params`) into a JSON-serializable dict that ``chairs.build_chair`` turns
into geometry. The ``*_type`` / ``*_style`` fields are described in ``chairs``."""

from __future__ import annotations

import numpy as np

BASE_TYPES = ("four_leg", "three_leg", "runner", "star", "pedestal")
SEAT_STYLES = ("box", "rounded", "cushion")
BACK_STYLES = ("panel", "slats", "ladder", "floating", "cushion")
ARM_STYLES = ("none", "bars", "solid")


def _u(rng, lo, hi) -> float:
    return float(rng.uniform(lo, hi))


def _pick(rng, options, p=None) -> str:
    return str(options[int(rng.choice(len(options), p=p))])


def sample_chair_params(rng: np.random.Generator) -> dict:
    """Draw every random choice of a chair: a JSON-serializable dict (lengths in metres, angles in radians)."""
    base = _pick(rng, BASE_TYPES, p=[0.38, 0.1, 0.1, 0.27, 0.15])
    p: dict = {"base_type": base}
    p["seat_style"] = _pick(rng, SEAT_STYLES, p=[0.4, 0.3, 0.3])
    p["seat_width"] = _u(rng, 0.40, 0.60)
    p["seat_depth"] = _u(rng, 0.38, 0.56)
    p["seat_height"] = _u(rng, 0.40, 0.52)
    p["seat_thickness"] = _u(rng, 0.025, 0.07)
    p["seat_corner_radius"] = _u(rng, 0.02, 0.12)
    p["seat_bevel"] = _u(rng, 0.005, 0.02)
    p["cushion_thickness"] = _u(rng, 0.04, 0.09)
    p["cushion_inset"] = _u(rng, 0.0, 0.025)

    if base in ("four_leg", "three_leg", "runner"):
        p["leg_style"] = _pick(rng, ("straight", "splayed", "tapered", "splayed_tapered"))
        if base == "runner":
            p["leg_style"] = "straight"
        p["leg_section"] = _pick(rng, ("square", "round"))
        p["leg_size"] = _u(rng, 0.025, 0.055)
        p["leg_inset"] = _u(rng, 0.0, 0.05)
        p["leg_splay"] = _u(rng, 0.02, 0.07)
        p["leg_taper"] = _u(rng, 0.45, 0.8)
        stretchers = ("none", "ring") if base == "three_leg" else ("none", "h", "box")
        p["stretcher_type"] = _pick(rng, stretchers)
        p["stretcher_height"] = _u(rng, 0.07, 0.22)
        p["stretcher_size"] = _u(rng, 0.4, 0.75)  # fraction of leg size
        p["runner_height"] = _u(rng, 0.02, 0.04)
    elif base == "star":
        p["star_legs"] = 5
        p["star_radius"] = _u(rng, 0.25, 0.34)
        p["star_leg_width"] = _u(rng, 0.03, 0.055)
        p["star_leg_height"] = _u(rng, 0.025, 0.05)
        p["star_leg_drop"] = _u(rng, 0.0, 0.035)
        p["star_phase"] = float(rng.choice([0.0, np.pi / 5]))
        p["column_radius"] = _u(rng, 0.018, 0.035)
        p["wheel_radius"] = _u(rng, 0.022, 0.035)
        p["wheel_width"] = _u(rng, 0.018, 0.03)
        p["wheel_yaw"] = _u(rng, 0.0, np.pi)
        p["stem_gap"] = _u(rng, 0.005, 0.025)
        p["has_control"] = bool(rng.random() < 0.65)
        p["control_size"] = [_u(rng, 0.14, 0.26), _u(rng, 0.14, 0.26), _u(rng, 0.03, 0.06)]
    else:  # pedestal
        p["pedestal_radius"] = _u(rng, 0.18, 0.27)
        p["pedestal_thickness"] = _u(rng, 0.012, 0.04)
        p["pedestal_top_ratio"] = _u(rng, 0.3, 1.0)
        p["column_radius"] = _u(rng, 0.025, 0.06)
        p["column_flare"] = _u(rng, 1.0, 1.8)

    back = _pick(rng, BACK_STYLES, p=[0.24, 0.2, 0.18, 0.22, 0.16])
    p["back_style"] = back
    p["back_height"] = _u(rng, 0.32, 0.60)
    p["back_width_ratio"] = _u(rng, 0.75, 1.0)
    p["back_thickness"] = _u(rng, 0.02, 0.055)
    p["back_tilt"] = _u(rng, 0.0, np.radians(18))
    p["back_inset"] = _u(rng, 0.0, 0.03)
    p["back_top_radius"] = _u(rng, 0.0, 0.12) if rng.random() < 0.5 else 0.0
    p["post_width"] = _u(rng, 0.025, 0.05)
    p["rail_height"] = _u(rng, 0.04, 0.10)
    p["bottom_rail"] = bool(rng.random() < 0.5)
    p["n_slats"] = int(rng.integers(2, 7))
    p["slat_width"] = _u(rng, 0.015, 0.05)
    p["n_bars"] = int(rng.integers(2, 6))
    p["bar_height"] = _u(rng, 0.025, 0.07)
    p["back_gap"] = _u(rng, 0.06, 0.18)
    p["n_connectors"] = int(rng.choice([1, 2]))
    p["connector_width"] = _u(rng, 0.03, 0.07)
    p["back_cushion_thickness"] = _u(rng, 0.03, 0.07)
    p["headrest"] = bool(back in ("panel", "floating", "cushion") and rng.random() < 0.3)
    p["headrest_gap"] = _u(rng, 0.03, 0.08)
    p["headrest_width_ratio"] = _u(rng, 0.4, 0.75)
    p["headrest_height"] = _u(rng, 0.09, 0.16)

    p["arm_style"] = _pick(rng, ARM_STYLES, p=[0.45, 0.35, 0.2])
    p["arm_height"] = _u(rng, 0.16, 0.27)
    p["arm_width"] = _u(rng, 0.03, 0.07)
    p["arm_bar_height"] = _u(rng, 0.02, 0.04)
    p["arm_offset"] = _u(rng, 0.0, 0.9)  # fraction of half the support width outside the seat edge
    p["arm_front_overhang"] = _u(rng, -0.06, 0.03)
    p["arm_supports"] = int(rng.choice([1, 2]))
    p["arm_support_size"] = _u(rng, 0.02, 0.04)
    p["arm_support_round"] = bool(rng.random() < 0.4)
    p["arm_support_lean"] = _u(rng, 0.0, 0.06)
    p["arm_side_thickness"] = _u(rng, 0.03, 0.10)
    p["arm_side_drop"] = _u(rng, 0.0, 0.12)
    p["arm_side_radius"] = _u(rng, 0.005, 0.05)
    return p
