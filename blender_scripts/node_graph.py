"""``NodeGraph``: a small helper over a Blender shader node tree (materials, worlds): create
nodes laid out on a grid, set an input to a value or link it to a socket, and shorthands for the
nodes the procedural materials use (Math, Map Range, Mix, Mapping, Noise, Voronoi, Wave, Color
Ramp). Inputs are looked up by identifier first (Mix has several "A"), then by enabled name."""

from __future__ import annotations

import bpy


class NodeGraph:
    """Small helper over a shader node tree: create nodes, set or link inputs."""

    def __init__(self, tree):
        self.tree = tree
        self.n = 0

    def node(self, kind: str, inputs: dict | None = None, **props):
        nd = self.tree.nodes.new(kind)
        nd.location = (200 * (self.n % 8) - 1400, -250 * (self.n // 8))
        self.n += 1
        for k, v in props.items():
            setattr(nd, k, v)
        for k, v in (inputs or {}).items():
            self.set(self.inp(nd, k), v)
        return nd

    @staticmethod
    def _socket(nd, sockets, key, what):
        for s in sockets:  # identifier first (Mix has several "A"), then enabled name
            if s.identifier == key:
                return s
        for s in sockets:
            if s.name == key and s.enabled:
                return s
        raise KeyError(f"{nd.bl_idname} has no {what} {key!r}")

    @staticmethod
    def inp(nd, key):
        return NodeGraph._socket(nd, nd.inputs, key, "input")

    @staticmethod
    def out(nd, key):
        return NodeGraph._socket(nd, nd.outputs, key, "output")

    def set(self, sock, v):
        if isinstance(v, bpy.types.NodeSocket):
            self.tree.links.new(v, sock)
        elif sock.type == "RGBA":
            c = list(v)
            sock.default_value = c + [1.0] * (4 - len(c))
        else:
            sock.default_value = v

    # --- shorthands -------------------------------------------------------------------
    def math(self, op, a, b=0.0, clamp=False):
        nd = self.node("ShaderNodeMath", operation=op, use_clamp=clamp)
        self.set(nd.inputs[0], a)
        self.set(nd.inputs[1], b)
        return nd.outputs[0]

    def maprange(self, v, a, b, c, d, interp="LINEAR", clamp=True):
        nd = self.node("ShaderNodeMapRange", interpolation_type=interp, clamp=clamp)
        for k, x in zip(("Value", "From Min", "From Max", "To Min", "To Max"), (v, a, b, c, d)):
            self.set(nd.inputs[k], x)
        return nd.outputs["Result"]

    def mix(self, fac, a, b, blend="MIX"):
        nd = self.node("ShaderNodeMix", data_type="RGBA", blend_type=blend, clamp_result=True)
        self.set(self.inp(nd, "Factor_Float"), fac)
        self.set(self.inp(nd, "A_Color"), a)
        self.set(self.inp(nd, "B_Color"), b)
        return self.out(nd, "Result_Color")

    def mixf(self, fac, a, b):
        nd = self.node("ShaderNodeMix", data_type="FLOAT")
        self.set(self.inp(nd, "Factor_Float"), fac)
        self.set(self.inp(nd, "A_Float"), a)
        self.set(self.inp(nd, "B_Float"), b)
        return self.out(nd, "Result_Float")

    def mapping(self, vec, loc=(0, 0, 0), rot=(0, 0, 0), scale=(1, 1, 1)):
        nd = self.node("ShaderNodeMapping", vector_type="POINT")
        self.set(nd.inputs["Vector"], vec)
        nd.inputs["Location"].default_value = tuple(float(x) for x in loc)
        nd.inputs["Rotation"].default_value = tuple(float(x) for x in rot)
        nd.inputs["Scale"].default_value = tuple(float(x) for x in scale)
        return nd.outputs["Vector"]

    def noise(self, vec, scale, detail=2.0, roughness=0.5, distortion=0.0):
        nd = self.node("ShaderNodeTexNoise", {"Vector": vec, "Scale": scale, "Detail": detail,
                                              "Roughness": roughness, "Distortion": distortion})
        return nd.outputs["Factor"]

    def voronoi(self, vec, scale, feature="F1", randomness=1.0, out="Distance"):
        nd = self.node("ShaderNodeTexVoronoi", {"Vector": vec, "Scale": scale, "Randomness": randomness},
                       feature=feature)
        return nd.outputs[out]

    def wave(self, vec, scale, kind="BANDS", direction="X", profile="SIN", distortion=0.0, detail=2.0):
        nd = self.node("ShaderNodeTexWave", {"Vector": vec, "Scale": scale, "Distortion": distortion,
                                             "Detail": detail}, wave_type=kind, wave_profile=profile)
        if kind == "BANDS":
            nd.bands_direction = direction
        else:
            nd.rings_direction = direction
        return nd.outputs["Factor"]

    def ramp(self, fac, stops):
        nd = self.node("ShaderNodeValToRGB")
        self.set(nd.inputs["Factor"], fac)
        els = nd.color_ramp.elements
        while len(els) < len(stops):
            els.new(0.5)
        for e, (pos, col) in zip(els, stops):
            e.position = float(pos)
            e.color = list(col) + [1.0] * (4 - len(col))
        return nd.outputs["Color"]
