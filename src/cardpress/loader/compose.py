"""libyaml's parser events, composed into nodes that keep their positions.

Files are composed, never constructed: no YAML tag can build a Python object, and every node
keeps the line and column it was written at. libyaml's ``CSafeLoader`` is used where PyYAML has
it (several times faster than the pure-Python parser).
"""

from __future__ import annotations

import operator
from typing import Any

import yaml

from cardpress.format import MAX_ALIASED_CHARS

STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
BOOL = "tag:yaml.org,2002:bool"
SEQ = "tag:yaml.org,2002:seq"
MAP = "tag:yaml.org,2002:map"
MERGE = "tag:yaml.org,2002:merge"
# Tags a card file may spell out (``!!str 1924``): they change nothing, since every scalar is
# read as the text written.
PLAIN_TAGS = frozenset(
    {STR, NULL, BOOL, "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
     "tag:yaml.org,2002:timestamp"}
)  # fmt: skip

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = frozenset(
    f(word)
    for word in ("true", "false", "yes", "no", "on", "off")
    for f in (str, str.title, str.upper)
)


class Loader(_Base):  # type: ignore[misc]
    """Composes nodes only; plain scalars resolve to text, null, bool or the merge key,
    nothing else.

    The loader reads every scalar as the text written (``1924`` stays "1924"), so PyYAML's
    regex-based resolution of ints, floats and timestamps is work thrown away.
    """

    # libyaml's composer calls these two for every node, for PyYAML's path resolvers, which
    # nothing here registers (they would do nothing). A built-in that takes the same arguments
    # and has no effect costs far less than a Python method: 5% of a big file's read.
    descend_resolver = staticmethod(operator.is_)  # (parent, index)
    ascend_resolver = staticmethod(tuple)  # ()

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0] and value in _NULLS:
                return NULL
            if implicit[0] and value in _BOOLS:
                return BOOL
            if implicit[0] and value == "<<":
                return MERGE  # a merge key: named as such in the message, not merged
            return STR
        return SEQ if kind is yaml.SequenceNode else MAP


def compose_document(data: bytes) -> yaml.Node | None:
    """The single document of ``data`` composed at once by libyaml (None when it is empty).

    Holds the whole node tree: for pieces of a file, not for a whole big file.
    """
    node: yaml.Node | None = Loader(data).get_single_node()
    return node


_NO_KEY = object()


class AliasLimit(yaml.composer.ComposerError):
    """Aliases repeat more text than a card file may hold (not a syntax error)."""


class Composer:
    """Builds YAML nodes from libyaml's parser events, one node at a time.

    PyYAML's ``compose`` keeps the whole node tree of a file (with two position marks per
    node): about 560 MB for 100k cards. Reading events lets the loader turn each card into a
    typed Card as soon as its events are read and drop its nodes; only the deck's own keys
    stay. Iterative, so no nesting depth can exhaust Python's stack.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.parser = Loader(data)
        self.anchors: dict[str, yaml.Node] = {}
        # What aliases have repeated so far, in characters of text: a file of a few bytes
        # can repeat an anchor's text on every card (or an anchor of anchors, "billion
        # laughs"); nodes are shared, never copied, but every output would hold the text.
        self.aliased = 0
        self.sizes: dict[int, int] = {}  # id(node) -> its text in characters

    def may_have(self, word: str) -> bool:
        """False when ``word`` appears nowhere in the file, so no key can be spelled so."""
        return word.encode() in self.data

    def peek(self) -> Any:
        return self.parser.peek_event()

    def next(self) -> Any:
        return self.parser.get_event()

    def node(self) -> yaml.Node:
        """Compose the next node, however deep."""
        get_event = self.parser.get_event
        stack: list[list[Any]] = []  # [collection node, pending mapping key or _NO_KEY]
        node: yaml.Node
        while True:
            event = get_event()
            kind = type(event)
            if kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                node = stack.pop()[0]
                node.end_mark = event.end_mark
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                stack.append([self._collection(event), _NO_KEY])
                continue
            else:
                node = self._leaf(event)
            if not stack:
                return node
            _attach(stack[-1], node)

    def _leaf(self, event: Any) -> yaml.Node:
        """The node of a scalar or an alias event."""
        kind = type(event)  # compared, not narrowed: libyaml's marks are not PyYAML's Mark
        if kind is yaml.ScalarEvent:
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.parser.resolve(yaml.ScalarNode, event.value, event.implicit)
            node = yaml.ScalarNode(
                tag, event.value, event.start_mark, event.end_mark, style=event.style
            )
            if event.anchor is not None:
                self.anchors[event.anchor] = node
            return node
        if kind is yaml.AliasEvent:
            if event.anchor not in self.anchors:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                )
            anchored = self.anchors[event.anchor]
            self.aliased += text_size(anchored, self.sizes)
            if self.aliased > MAX_ALIASED_CHARS:
                raise AliasLimit(
                    None,
                    None,
                    f"aliases (*name) repeat {self.aliased} characters of text by here; the "
                    f"limit is {MAX_ALIASED_CHARS}",
                    event.start_mark,
                )
            return anchored
        # libyaml emits no other event inside a document
        raise yaml.composer.ComposerError(  # pragma: no cover
            None, None, f"unexpected {kind.__name__}", event.start_mark
        )

    def _collection(self, event: Any) -> yaml.Node:
        """The (still empty) node a sequence or mapping start event opens."""
        is_map = type(event) is yaml.MappingStartEvent
        tag = event.tag
        if tag is None or tag == "!":
            tag = MAP if is_map else SEQ
        node_class = yaml.MappingNode if is_map else yaml.SequenceNode
        node = node_class(tag, [], event.start_mark, None, flow_style=event.flow_style)
        if event.anchor is not None:
            self.anchors[event.anchor] = node
        return node

    def skip(self) -> None:
        """Read past the next node without building it."""
        depth = 0
        while True:
            kind = type(self.next())
            if kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                depth += 1
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                depth -= 1
            if depth == 0:
                return


def text_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """The characters of text in ``node``, aliases counted each time they are used (sizes
    remembered by node, so that anchors of anchors take linear time). Iterative: no nesting
    depth can exhaust Python's stack."""
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if id(current) in sizes:
            continue
        if isinstance(current, yaml.ScalarNode):
            sizes[id(current)] = len(current.value)
            continue
        children = _children(current)
        if children_done:
            sizes[id(current)] = sum(sizes[id(child)] for child in children)
        else:
            stack.append((current, True))
            stack += [(child, False) for child in children if id(child) not in sizes]
    return sizes[id(node)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return [part for pair in node.value for part in pair]


def _attach(top: list[Any], node: yaml.Node) -> None:
    """Put ``node`` into the open collection ``top``: an item, a key, or a key's value."""
    if type(top[0]) is yaml.SequenceNode:
        top[0].value.append(node)
    elif top[1] is _NO_KEY:
        top[1] = node
    else:
        top[0].value.append((top[1], node))
        top[1] = _NO_KEY


def is_key(node: yaml.Node, name: str) -> bool:
    """Whether ``node`` is a scalar key spelled ``name``."""
    return isinstance(node, yaml.ScalarNode) and node.value == name


def describe(node: yaml.Node) -> str:
    """What a node is, for a message: "a mapping", "a list", "nothing" or "text"."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
        return "nothing"
    return "text"
