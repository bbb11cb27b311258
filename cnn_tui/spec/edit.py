"""Row-addressed edits on an Architecture, for the editor and anything else that edits by row.

A "row" is a layer's position in the depth-first order of `Architecture.walk()` (the order of
`analyze(arch).rows`): a residual block is one row and its inner layers the rows right after it.
Every edit returns an `Edit(arch, row)`: a NEW Architecture (the input is never touched, so an
undo history can keep the old one as is) and the row the cursor should land on (None when the
list became empty). The result always satisfies the file format's limits (layer count, nesting
depth), so whatever the editor makes can be saved and read back; an edit that would break them
raises SpecError.

Containment rules, chosen so every position is reachable with the keyboard:
- insert_after(block row) puts the new layer after the whole block, as its sibling, except on
  an empty block, where it becomes the block's first inner layer (else nothing could enter it);
  insert_after(inner row) / insert_before(inner row) stay inside that block.
- move(row, -1/+1) swaps a layer (a block with all its inner layers) with its neighbour in the
  same list; at the edge of a block it steps out of the block, at the edge of the whole list it
  does nothing (the returned architecture equals the input).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnn_tui.errors import SpecError
from cnn_tui.spec.fmt import layer_label
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.spec.model import MAX_DEPTH, MAX_LAYERS, Architecture, Layer


@dataclass(frozen=True)
class Edit:
    arch: Architecture
    row: int | None


@dataclass(frozen=True)
class _Slot:
    """Where a row lives: the list holding it, its index there, its depth and first row."""

    siblings: list[Layer]
    index: int
    depth: int
    parent_row: int | None  # the residual block's row, None at the top level


def row_count(arch: Architecture) -> int:
    return sum(1 for _ in arch.walk())


def subtree_size(layer: Layer) -> int:
    """Rows a layer takes: 1, plus all inner rows of a residual block."""
    return sum(1 for _ in layer.walk())


def layer_at(arch: Architecture, row: int) -> Layer:
    slot = _locate(arch, row)
    return slot.siblings[slot.index]


def row_depth(arch: Architecture, row: int) -> int:
    return _locate(arch, row).depth


def _locate(arch: Architecture, row: int) -> _Slot:
    if not isinstance(row, int) or isinstance(row, bool) or row < 0:
        raise SpecError(f"row {row}", "no such layer")
    counter = 0

    def visit(layers: list[Layer], depth: int, parent: int | None) -> _Slot | None:
        nonlocal counter
        for index, layer in enumerate(layers):
            here = counter
            if here == row:
                return _Slot(layers, index, depth, parent)
            counter += 1
            if layer.layers is not None:
                found = visit(layer.layers, depth + 1, here)
                if found is not None:
                    return found
        return None

    slot = visit(arch.layers, 0, None)
    if slot is None:
        raise SpecError(f"row {row}", f"no such layer (the list has {counter} rows)")
    return slot


def _row_of(arch: Architecture, target: Layer) -> int:
    for row, (_, layer) in enumerate(arch.walk()):
        if layer is target:
            return row
    raise AssertionError("layer not in architecture")  # unreachable: callers pass a member


def _check_limits(arch: Architecture) -> None:
    count = 0

    def visit(layers: list[Layer], depth: int) -> None:
        nonlocal count
        for layer in layers:
            count += 1
            if layer.layers is not None:
                if depth + 1 > MAX_DEPTH:
                    raise SpecError("layers", f"residual blocks nested too deep "
                                              f"(at most {MAX_DEPTH})")
                visit(layer.layers, depth + 1)

    visit(arch.layers, 0)
    if count > MAX_LAYERS:
        raise SpecError("layers", f"too many layers (at most {MAX_LAYERS} in all)")


def _done(arch: Architecture, placed: Layer | None) -> Edit:
    _check_limits(arch)
    if placed is not None:
        return Edit(arch, _row_of(arch, placed))
    return Edit(arch, None)


def insert_after(arch: Architecture, row: int | None, layer: Layer) -> Edit:
    """Insert a copy of `layer` after `row` (None: at the very top of the list)."""
    new = arch.copy()
    placed = layer.copy()
    if row is None:
        new.layers.insert(0, placed)
        return _done(new, placed)
    slot = _locate(new, row)
    target = slot.siblings[slot.index]
    if target.layers is not None and not target.layers:
        target.layers.append(placed)  # an empty block: the only way in
    else:
        slot.siblings.insert(slot.index + 1, placed)
    return _done(new, placed)


def insert_before(arch: Architecture, row: int | None, layer: Layer) -> Edit:
    """Insert a copy of `layer` before `row`, in the same list (None: at the top)."""
    new = arch.copy()
    placed = layer.copy()
    if row is None:
        new.layers.insert(0, placed)
        return _done(new, placed)
    slot = _locate(new, row)
    slot.siblings.insert(slot.index, placed)
    return _done(new, placed)


def append(arch: Architecture, layer: Layer) -> Edit:
    """Add a copy of `layer` at the end of the top-level list."""
    new = arch.copy()
    placed = layer.copy()
    new.layers.append(placed)
    return _done(new, placed)


def delete(arch: Architecture, row: int) -> Edit:
    """Remove the layer at `row` (a block with its inner layers); the cursor stays put."""
    new = arch.copy()
    slot = _locate(new, row)
    del slot.siblings[slot.index]
    left = row_count(new)
    return _done(new, None) if left == 0 else Edit(_checked(new), min(row, left - 1))


def _checked(arch: Architecture) -> Architecture:
    _check_limits(arch)
    return arch


def replace(arch: Architecture, row: int, layer: Layer) -> Edit:
    """Put a copy of `layer` in place of the layer at `row` (inner layers as `layer` has them)."""
    new = arch.copy()
    slot = _locate(new, row)
    placed = layer.copy()
    slot.siblings[slot.index] = placed
    return _done(new, placed)


# settings that mean the same in any layer that has them; the others (a stride, a padding) move
# over only between layers of one kind (MaxPool2D and AvgPool2D): a conv's stride 1 is no pool's
_MEANS_THE_SAME = frozenset({"activation", "lr_mult"})
BLOCK_KEEPS_TYPE = ("a residual block keeps its type: delete it (u undoes) or change the layers "
                    "inside it")


def change_type(arch: Architecture, row: int, type_name: str,
                defaults: dict[str, Any] | None = None) -> Edit:
    """Give the layer at `row` another type in place.

    Each setting the new type also has moves over when its value is valid there and means the
    same (MaxPool2D to AvgPool2D keeps pool size, stride and padding; Conv2D to Dense keeps the
    activation and learning-rate multiplier, not the stride);
    `defaults` fill the others (a suggestion's values), then the type's own defaults. To
    Residual wraps the layer in a new block; a residual block itself is refused (its inner
    layers would go): delete it, or edit the layers inside.
    """
    if type_name not in LAYER_TYPES:
        raise SpecError("type", f"unknown layer type {type_name!r}")
    old = layer_at(arch, row)
    if old.type == type_name:
        return Edit(arch, row)
    if old.type == "residual":
        raise SpecError(layer_label(row), BLOCK_KEEPS_TYPE)
    if type_name == "residual":
        return replace(arch, row, Layer.make("residual", layers=[old.copy()]))
    kind = LAYER_TYPES[type_name]
    same_kind = kind.category == LAYER_TYPES[old.type].category
    carried = [(n, v) for n, v in old.params.items() if same_kind or n in _MEANS_THE_SAME]
    kept: dict[str, Any] = {}
    for name, value in [*(defaults or {}).items(), *carried]:
        if value is None or all(p.name != name for p in kind.params):
            continue
        try:
            Layer.make(type_name, **{**kept, name: value})
        except SpecError:
            continue  # not allowed in the new type (a pool size of 9): its default instead
        kept[name] = value
    return replace(arch, row, Layer.make(type_name, **kept))


def move(arch: Architecture, row: int, step: int) -> Edit:
    """Move the layer at `row` one place up (-1) or down (+1); see the module doc for blocks."""
    if step not in (-1, 1):
        raise ValueError("step must be -1 or +1")
    new = arch.copy()
    slot = _locate(new, row)
    moving = slot.siblings[slot.index]
    target = slot.index + step
    if 0 <= target < len(slot.siblings):
        slot.siblings[slot.index], slot.siblings[target] = (slot.siblings[target], moving)
        return _done(new, moving)
    if slot.parent_row is None:
        return Edit(new, row)  # already at the top or bottom of the whole list
    parent = _locate(new, slot.parent_row)
    del slot.siblings[slot.index]
    parent.siblings.insert(parent.index + (0 if step < 0 else 1), moving)
    return _done(new, moving)


def copy_layer(arch: Architecture, row: int) -> Layer:
    """A detached copy of the layer at `row` (a block with its inner layers), for a clipboard."""
    return layer_at(arch, row).copy()


def paste_after(arch: Architecture, row: int | None, clip: Layer) -> Edit:
    """Insert the clipboard's layer after `row`; the clipboard stays usable for more pastes."""
    return insert_after(arch, row, clip)


__all__ = ["Edit", "append", "change_type", "copy_layer", "delete", "insert_after", "insert_before",
           "layer_at", "move", "paste_after", "replace", "row_count", "row_depth",
           "subtree_size"]
