"""The structural circuit description: devices, instances, cells, a library of cells.

A :class:`Cell` is what a SPICE ``.subckt`` holds, as data: ports, parameter defaults, and an
ordered list of elements — primitive :class:`Device` s (a transistor or the MIM capacitor, named
by *role*; the PDK maps the role to its model) and :class:`Instance` s of other cells. The
netlist writer renders cells as text, the layout generator places their devices, and LVS builds
its reference netlist from :meth:`Library.flatten`. Sizes are in µm (the sky130 models set
``.option scale=1.0u``); a size may be a :class:`Param`, a reference to a parameter of the cell.

Every name (cell, port, net, device, instance, parameter) must be a plain identifier: names go
into netlists, so anything else is refused when the object is made.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from imcflow import pdk
from imcflow.errors import SpecError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")


def check_name(name: str, what: str) -> str:
    """Return ``name`` if it is a netlist-safe identifier, else raise :class:`SpecError`."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecError(f"{what} {name!r} is not an identifier (letters, digits, '_', not "
                        "starting with a digit, ≤ 80 chars)")
    return name


@dataclass(frozen=True)
class Param:
    """A reference to parameter ``name`` of the enclosing cell (SPICE ``{name}``)."""

    name: str

    def __post_init__(self) -> None:
        check_name(self.name, "parameter")


#: A size or count: a number, or a reference to a cell parameter.
Value = float | int | Param


def resolve(value: Value, env: Mapping[str, float | int]) -> float | int:
    """The number ``value`` stands for under the parameter values ``env``."""
    if isinstance(value, Param):
        try:
            return env[value.name]
        except KeyError:
            raise SpecError(f"parameter {value.name!r} is not defined") from None
    return value


@dataclass(frozen=True)
class Device:
    """A primitive device.

    ``role`` is a device role of the PDK (``nfet``, ``pfet``, ``nfet_lvt``, ``pfet_hvt``,
    ``mim``, …, see :attr:`imcflow.pdk.Pdk.roles`). ``nets``: drain, gate, source, bulk for a
    transistor; top, bottom plate for the MIM. ``w``, ``l`` in µm (for a transistor ``w`` is
    the total width over its ``nf`` fingers, as the sky130 models take it). ``section``: a
    comment that opens a group of devices in the rendered netlist (documentation only).
    """

    name: str
    role: str
    nets: tuple[str, ...]
    w: Value
    l: Value
    nf: Value = 1
    section: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "device")
        for n in self.nets:
            check_name(n, f"net of device {self.name}")
        role = pdk.get().role(self.role)
        want = 4 if role.is_mos else 2
        if len(self.nets) != want:
            raise SpecError(f"device {self.name} ({self.role}) needs {want} nets, "
                            f"got {len(self.nets)}")

    @property
    def model(self) -> str:
        """The SPICE model of this device's role (from the PDK)."""
        return pdk.get().model(self.role)

    @property
    def is_mos(self) -> bool:
        return pdk.get().role(self.role).is_mos

    @property
    def polarity(self) -> str | None:
        """``"n"`` / ``"p"`` for a transistor, None for a capacitor."""
        return pdk.get().role(self.role).polarity


@dataclass(frozen=True)
class Instance:
    """An instance of cell ``cell`` connecting its ports, in order, to ``nets``."""

    name: str
    cell: str
    nets: tuple[str, ...]
    params: tuple[tuple[str, Value], ...] = ()

    def __post_init__(self) -> None:
        check_name(self.name, "instance")
        check_name(self.cell, f"cell of instance {self.name}")
        for n in self.nets:
            check_name(n, f"net of instance {self.name}")
        for k, _ in self.params:
            check_name(k, f"parameter of instance {self.name}")


Element = Device | Instance


@dataclass(frozen=True)
class Cell:
    """A subcircuit: ports, parameter defaults and elements (rendered in this order)."""

    name: str
    ports: tuple[str, ...]
    elements: tuple[Element, ...]
    params: tuple[tuple[str, float | int], ...] = ()

    def __post_init__(self) -> None:
        check_name(self.name, "cell")
        for p in self.ports:
            check_name(p, f"port of cell {self.name}")
        if len(set(self.ports)) != len(self.ports):
            raise SpecError(f"cell {self.name}: duplicate ports")
        for k, _ in self.params:
            check_name(k, f"parameter of cell {self.name}")
        names = [e.name for e in self.elements]
        if len(set(names)) != len(names):
            raise SpecError(f"cell {self.name}: duplicate element names")

    @property
    def devices(self) -> tuple[Device, ...]:
        return tuple(e for e in self.elements if isinstance(e, Device))

    @property
    def instances(self) -> tuple[Instance, ...]:
        return tuple(e for e in self.elements if isinstance(e, Instance))

    def device(self, name: str) -> Device:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    def nets(self) -> list[str]:
        """Every net of the cell: ports first, then the others in order of first use."""
        seen = dict.fromkeys(self.ports)
        for e in self.elements:
            seen.update(dict.fromkeys(e.nets))
        return list(seen)

    def internal_nets(self) -> list[str]:
        """Nets that are not ports."""
        return [n for n in self.nets() if n not in self.ports]


@dataclass(frozen=True)
class FlatDevice:
    """A device of a flattened library: hierarchical name, role, nets, numeric sizes (µm)."""

    name: str
    role: str
    nets: tuple[str, ...]
    w: float
    l: float
    nf: int

    @property
    def model(self) -> str:
        return pdk.get().model(self.role)


@dataclass(frozen=True)
class Library:
    """Cells in dependency order; ``top`` is the last one. ``title``: a one-line description
    written as the netlist's first comment."""

    cells: tuple[Cell, ...]
    title: str = ""
    _index: dict[str, Cell] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Cell] = {}
        for c in self.cells:
            if c.name in index:
                raise SpecError(f"library: two cells named {c.name}")
            for inst in c.instances:
                sub = index.get(inst.cell)
                if sub is None:
                    raise SpecError(f"cell {c.name}: instance {inst.name} of {inst.cell}, "
                                    "which is not defined before it")
                if len(inst.nets) != len(sub.ports):
                    raise SpecError(f"cell {c.name}: instance {inst.name} has {len(inst.nets)} "
                                    f"nets for the {len(sub.ports)} ports of {sub.name}")
            index[c.name] = c
        object.__setattr__(self, "_index", index)

    @property
    def top(self) -> Cell:
        return self.cells[-1]

    def cell(self, name: str) -> Cell:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"no cell {name!r}") from None

    def flatten(self, top: str | None = None) -> list[FlatDevice]:
        """Every device under ``top`` (default: the last cell) with numeric sizes; nets are the
        top cell's names for its ports and ``<instance path>.<net>`` for internal nets, device
        names ``<instance path>.<device>``."""
        cell = self.cell(top) if top is not None else self.top
        return list(self._walk(cell, {p: p for p in cell.ports}, dict(cell.params), ""))

    def _walk(self, cell: Cell, netmap: dict[str, str], env: dict[str, float | int],
              prefix: str) -> Iterator[FlatDevice]:
        def net(n: str) -> str:
            return netmap.get(n) or f"{prefix}{n}"

        for e in cell.elements:
            if isinstance(e, Device):
                nf = resolve(e.nf, env)
                yield FlatDevice(f"{prefix}{e.name}", e.role, tuple(net(n) for n in e.nets),
                                 float(resolve(e.w, env)), float(resolve(e.l, env)), int(nf))
            else:
                sub = self.cell(e.cell)
                sub_env = dict(sub.params)
                sub_env.update({k: resolve(v, env) for k, v in e.params})
                sub_map = {p: net(n) for p, n in zip(sub.ports, e.nets, strict=True)}
                yield from self._walk(sub, sub_map, sub_env, f"{prefix}{e.name}.")
