"""What a value is and what its attributes are: kinds of values, classes' MROs (C3) and attribute lookup through
them, for project classes, library classes (kept by name) and builtin containers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Final

from strata.codegraph.pycalls.scopes import Scope, Var
from strata.codegraph.pycalls.solver import Solver
from strata.codegraph.pysyntax import INSTANCE, ITEMS

__all__ = ["Attributes", "MroEntry", "classes_of"]

# External names grow by one segment per attribute; `node = node.parent` in a loop would grow them
# forever. Past this many segments an external value is dropped (unknown).
MAX_EXTERNAL_SEGMENTS: Final = 6
_SCOPE_KINDS: Final = frozenset({"module", "class", "function", "instance"})
_CONTAINER_TYPES: Final = {
    "dict": "<**PyDict**>",
    "list": "<**PyList**>",
    "tuple": "<**PyTuple**>",
    "set": "<**PySet**>",
}
# what each builtin value type has: `<list>.upper` or `<str>.get` is no attribute at all (a set that holds a list and a
# string sends a name only to the type that has it)
_BUILTIN_ATTRIBUTES: Final[dict[str, frozenset[str]]] = {
    "<**PyDict**>": frozenset(dir(dict)),
    "<**PyList**>": frozenset(dir(list)),
    "<**PyTuple**>": frozenset(dir(tuple)),
    "<**PySet**>": frozenset(dir(set)),
    "<**PyStr**>": frozenset(dir(str)),
    "<**PyBytes**>": frozenset(dir(bytes)),
    "<**PyInt**>": frozenset(dir(int)),
    "<**PyFloat**>": frozenset(dir(float)),
}

MroEntry = tuple[str, str, "Scope | None"]  # a class in an MRO, its kind, its scope (project classes)
_Kinded = tuple[str, "Scope | None"]  # a value's kind, and its scope when it is a project module, class or function


class Attributes(Solver):
    """Kinds, MROs and attribute lookup over the solver's sets (an MRO reads the sets of a class's bases)."""

    def __init__(self) -> None:
        super().__init__()
        self._mro_visiting: set[str] = set()
        # class -> (its MRO, the points-to sets computing it read); dropped when one of those sets changes
        # (and each class in it with its kind and, for project classes, scope: what attribute lookups walk)
        self._mro_cache: dict[str, tuple[list[str], frozenset[Var], list[MroEntry]]] = {}
        self._mro_readers: defaultdict[Var, set[str]] = defaultdict(set)  # set -> classes whose MRO read it
        self._kinds: dict[str, _Kinded] = {}
        self._items_vars: dict[str, Var] = {}  # container -> the set `container.<ITEMS>` (no key made per read)
        # (module, name) -> the submodule `module.name`, or the set of that name in the module (until update())
        self._module_attributes: dict[tuple[str, str], str | Var] = {}

    def _changed(self, var: Var) -> None:
        """A points-to set changed: its readers run again, and MROs computed from it are stale."""
        super()._changed(var)
        if self._mro_readers:
            for cls in self._mro_readers.pop(var, ()):
                self._mro_cache.pop(cls, None)

    def _forget(self) -> None:
        self._kinds.clear()  # a name may now be a class where it was a function, or nothing at all
        self._module_attributes.clear()  # `m.name` may now be a submodule, or no longer one
        self._mro_cache.clear()
        self._mro_readers.clear()

    def _kind(self, value: str) -> str:
        return self._kinded(value)[0]

    def _kinded(self, value: str) -> _Kinded:
        """A value's kind, and its scope when it is a project module, class or function. Scopes and modules are
        fixed once collected, so this never changes (until update()): memoized, both found with one lookup."""
        kinded = self._kinds.get(value)
        if kinded is None:
            kind = self._compute_kind(value)
            scope = None
            if kind in _SCOPE_KINDS:  # an instance's scope is its class's
                scope = self.scopes.get(value[: -len(INSTANCE)] if kind == "instance" else value)
            kinded = self._kinds[value] = (kind, scope)
        return kinded

    def _compute_kind(self, value: str) -> str:
        if value in self.module_names:
            return "module"
        if value.startswith("<super>"):
            return "super"
        if value.startswith("<gen>"):
            return "generator"
        if value.startswith("<") and not value.startswith(("<builtin>", "<**")):
            return "container"
        if value.startswith(("<builtin>", "<**")):
            return "builtin"
        if value.endswith(INSTANCE):
            of = self.scopes.get(value[: -len(INSTANCE)])
            return "instance" if of is not None and of.kind == "class" else "external"
        scope = self.scopes.get(value)
        if scope is not None:
            return "class" if scope.kind == "class" else "function"
        if value in self.module_prefixes:
            return "module"  # a namespace package
        return "external"

    def _items_var(self, container: str) -> Var:
        """The set of a container's items, ``<container>.<ITEMS>``."""
        var = self._items_vars.get(container)
        if var is None:
            var = self._items_vars[container] = self._var(f"{container}.{ITEMS}")
        return var

    # -- classes -------------------------------------------------------------------------------------------------

    def mro(self, cls: str) -> list[str]:
        """C3 linearization (Python's MRO); falls back to depth-first order when C3 has no solution."""
        cached = self._mro_cache.get(cls)
        if cached is not None:
            self._note_reads(cached[1])  # whoever uses a cached MRO depends on what computing it read
            return cached[0]
        if cls in self._mro_visiting:  # a cyclic hierarchy (`class A(B)`, `class B(A)`): cut it here
            return [cls]
        self._mro_visiting.add(cls)
        self._read_log.append(set())
        try:
            result = self._mro(cls)
        finally:
            self._mro_visiting.discard(cls)
            read = self._read_log.pop()
        self._mro_cache[cls] = (result, frozenset(read), [self._mro_entry(klass) for klass in result])
        for var in read:
            self._mro_readers[var].add(cls)
        if self._read_log:
            self._read_log[-1] |= read
        return result

    def _mro(self, cls: str) -> list[str]:
        if self._kind(cls) != "class":
            return [cls]
        bases: list[str] = []
        for key in self._base_keys(cls):
            bases.extend(sorted(self._read(key)))
        # Bases' linearizations come from the cache: a diamond-rich hierarchy (unittest mixins) made the
        # uncached recursion take 27 s for one method of test_argparse.
        sequences = [self.mro(b) for b in bases] + [list(bases)]
        result = [cls]
        while any(sequences):
            for seq in sequences:
                head = seq[0] if seq else None
                if head is not None and not any(head in other[1:] for other in sequences):
                    break
            else:  # inconsistent hierarchy: keep going depth-first rather than fail
                head = next(seq[0] for seq in sequences if seq)
            result.append(head)
            sequences = [[x for x in seq if x != head] for seq in sequences]
        return result

    def _mro_entries(self, cls: str) -> list[MroEntry]:
        self.mro(cls)
        cached = self._mro_cache.get(cls)
        return cached[2] if cached is not None else []

    def bases(self, cls: str) -> set[str]:
        """What the base expressions of class ``cls`` denote (classes, external names, builtins)."""
        out: set[str] = set()
        for key in self._base_keys(cls):
            out |= self.points_to(key)
        return out

    def _base_keys(self, cls: str) -> list[str]:
        return [_base_key(cls, position) for position in range(self.class_bases.get(cls, 0))]

    def _mro_entry(self, klass: str) -> MroEntry:
        kind, scope = self._kinded(klass)
        return (klass, kind, scope if kind == "class" else None)

    # -- attributes ----------------------------------------------------------------------------------------------

    def lookup_attribute(self, cls: str, name: str, start: int = 0) -> set[str]:
        cached = self._mro_cache.get(cls)
        if cached is not None:  # as mro() does with a cached MRO, without looking it up twice
            self._note_reads(cached[1])
            entries = cached[2]
        else:
            classes = self.mro(cls)
            cached = self._mro_cache.get(cls)
            entries = cached[2] if cached is not None else [self._mro_entry(klass) for klass in classes]
        for position in range(start, len(entries)):
            klass, kind, scope = entries[position]
            if scope is not None:
                found = self._read_var(self._own_var(scope, name))
                if found:
                    return set(found)
            elif kind == "external":
                return {f"{klass}.{name}"} if klass.count(".") + 1 < MAX_EXTERNAL_SEGMENTS else set()
            elif kind == "builtin" and klass.startswith("<builtin>."):
                return set()
        return set()

    def attribute(self, obj: str, name: str) -> set[str]:
        kind, function = self._kinded(obj)
        if kind == "module":
            found = self._module_attributes.get((obj, name))
            if found is None:
                full = f"{obj}.{name}"
                submodule = full in self.module_names or full in self.module_prefixes
                found = full if submodule else self._var(full)
                self._module_attributes[(obj, name)] = found
            return {found} if isinstance(found, str) else set(self._read_var(found))
        if kind == "instance":
            cls = obj[: -len(INSTANCE)]
            return {cls} if name == "__class__" else self.lookup_attribute(cls, name)
        if kind == "class":
            return self.lookup_attribute(obj, name)
        if kind == "super":
            cls = obj.removeprefix("<super>")
            return self.lookup_attribute(cls, name, start=1)
        if kind == "function" and function is not None:
            return set(self._read_var(self._own_var(function, name)))
        if kind == "container":
            python_type = _CONTAINER_TYPES.get(obj[1:].split(":", 1)[0])
            return {f"{python_type}.{name}"} if python_type and name in _BUILTIN_ATTRIBUTES[python_type] else set()
        if kind == "builtin" and obj.startswith("<**") and "." not in obj:
            names = _BUILTIN_ATTRIBUTES.get(obj)
            return {f"{obj}.{name}"} if names is None or name in names else set()
        if kind == "external" and obj.count(".") + 1 < MAX_EXTERNAL_SEGMENTS:
            return {f"{obj}.{name}"}
        return set()

    def _methods(self, classes: set[str], name: str) -> set[str]:
        out: set[str] = set()
        for cls in classes:
            out |= {m for m in self.lookup_attribute(cls, name) if self._kind(m) == "function"}
        return out


def classes_of(values: Iterable[str], kind: Callable[[str], str]) -> set[str]:
    """The classes of the project-class instances among ``values``."""
    return {v[: -len(INSTANCE)] for v in values if kind(v) == "instance"}


def _base_key(cls: str, position: int) -> str:
    return f"{cls}.<BASE{position}>"
