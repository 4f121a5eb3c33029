"""Makes moto's DynamoDB transactions cost what they cost on AWS: time independent of the table's size.

moto backs up every table a TransactWriteItems touches by deep-copying the whole table, once per operation,
so that it can roll back; with a few thousand cases each transaction takes hundreds of milliseconds and the
local stack slows as it is used. Here the backup is of the items the transaction writes, and a failed
transaction puts exactly those back. The outcome is moto's own: same checks, same errors, same rollback.
Transactions also follow DynamoDB's conflict rule between threads: moto checks and writes item by item, so two
concurrent transactions on one case could otherwise both pass their version checks. As on AWS, a transaction
that names an item another transaction is writing at that moment is cancelled with `TransactionConflict` (the
caller retries, shared/core/dal/items.py), and transactions on different items run side by side.
moto checks each operation's condition of a transaction, then writes it through put_item, update_item or
delete_item, which parse and check the same condition again on the same item (an SMS complaint's transaction of 8
items: about 0.7 ms). Here the writes of a transaction leave out the second check; the first decides, as before.
moto also checks an item's size by summing every attribute again as each one is added (quadratic in the number
of attributes: most of the time of writing a case item); here the sizes are summed once, with the same limit.
moto's SQS reads the clock once per message of the queue to count visible, delayed and in-flight messages, and
it counts them on every send (to read one queue attribute): sending cost grows with the queue's length. Here each
count reads the clock once; the counts are the same.
moto's response serializer walks every DynamoDB attribute value through the service model, member by member (ten
members tried for each value): about 2 ms for ten small cases read, more than the read itself. Attribute values
are already in their wire form, so here they are written as they are, binary values base64-encoded as moto does.
Its request parser does the same walk for every attribute value a request sends (a new case's 23, in the transaction
that files it); here a well-formed value is taken as it is, binary values decoded as moto does, and anything else
goes through moto's own walk.
moto parses an expression again wherever it looks at it: an update expression in the request's check, the
transaction's check and the write; a condition in the request's check and the write (a rate-limit counter's UpdateItem,
ADD and SET under a condition, took twice the time of a PutItem). A parse depends only on the expression's text (and,
for a condition, the names and values it names), and what is parsed is only read afterwards (the write validates a
deep copy of an update's tree), so here each is parsed once and its tree shared; one that does not parse raises as
before, every time. The check of an update walks its tree ten times, and each walk worked out again at every node
which node types it processes (building its map of node types and handlers each time); here once per walk. The
check works on a deep copy of the tree, which copy.deepcopy made through its generic protocol at every node (a fifth
of a counter's check); here the nodes are copied directly, with the same result. Its first three walks (one action
of a kind, no path set twice, no key attribute set) read only the tree, the names and the table's keys, and change
nothing; here they are left out once they have passed for that tree with those names and keys. An update whose
every action sets or adds a value of the request to a top-level attribute (a rate-limit counter's) reads nothing of
the item in its check, whose outcome then depends only on the tree, the names, the values and the table: here the
checked tree is kept, and the same update with the same names and values gets a copy of it (the write keeps the
values it sets) instead of the ten walks. A counter's update in a transaction took 0.28 ms, and 0.12 ms with this.
moto's Query sorts every item of the table, then keeps those of the partition asked for (or, for an index, those
with its keys) and sorts them again: a Query of an empty partition took 20 ms among 1,000 counter items. Here a
Query of the table reads only its partition, and a Query of an index goes through the items unsorted; both sort
what they keep as before, so the same items come back in the same order, and a Query costs what it returns.
One patch corrects moto rather than its costs: it parses the body of any request with a form's content type as form
fields, and a PUT's body is then gone. An S3 object put with `application/x-www-form-urlencoded` (the raw payload
of a web form or of a Twilio text, archived as it came) was stored empty. No AWS API sends form fields in a PUT, so
here a PUT's body is left as it is.
Applied by the local stack's moto server (`infra/moto_server.py`), the integration tests and the benchmarks.
"""

import base64
import copy
import threading
from functools import cache, lru_cache
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import moto.dynamodb.models as dynamodb_models
from moto.core.parse import BaseJSONParser
from moto.core.request import Request as MotoRequest
from moto.core.serialize import BaseJSONSerializer
from moto.core.utils import unix_time_millis
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.exceptions import ItemSizeTooLarge, TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.parsing import validators as dynamodb_validators
from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]  # untyped in moto
    DepthFirstTraverser,
    ExpressionAttribute,
    ExpressionAttributeName,
    ExpressionAttributeValue,
    Node,
    UpdateExpression,
    UpdateExpressionAddAction,
    UpdateExpressionAddActions,
    UpdateExpressionAddClause,
    UpdateExpressionSetAction,
    UpdateExpressionSetActions,
    UpdateExpressionSetClause,
    UpdateExpressionValue,
)
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]  # untyped in moto
from moto.sqs.models import Message, Queue

_original_transact = DynamoDBBackend.transact_write_items
_original_writes = {name: getattr(DynamoDBBackend, name) for name in ("put_item", "update_item", "delete_item")}
# The items of the transactions running now: (table name, hash key, range key).
_in_flight: set[tuple[str, Any, Any]] = set()
_in_flight_lock = threading.Lock()
# The table a Query of this thread is reading now, and the partition it reads (None for an index).
_querying = threading.local()
_original_query = Table.query
_original_all_items = Table.all_items
# Set while this thread runs a transaction whose operations' conditions moto has checked before each write.
_transacting = threading.local()
K = TypeVar("K")
V = TypeVar("V")


class _CopyWithoutTables:
    """moto's module-level `copy`, except that a Table is not copied (its items are backed up instead)."""

    @staticmethod
    def deepcopy(value: Any, memo: dict | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _named_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[tuple[Table, Any, Any]]:
    """(table, hash key, range key or None) of each item the transaction names."""
    named = []
    for entry in transact_items:
        operation = next(iter(entry.values()))
        table = backend.tables.get(operation.get("TableName"))
        if table is None:
            continue
        key = operation.get("Key") or operation.get("Item") or {}
        if table.hash_key_attr not in key:
            continue
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = (
            DynamoType(key[table.range_key_attr]) if table.range_key_attr and table.range_key_attr in key else None
        )
        named.append((table, hash_key, range_key))
    return named


def _backup(named: list[tuple[Table, Any, Any]]) -> list[tuple]:
    """(table, hash key, range key, copy of the current item or None) for each named item."""
    backup = []
    for table, hash_key, range_key in named:
        current = table.items.get(hash_key)
        if range_key is not None:
            current = current.get(range_key) if current else None
        backup.append((table, hash_key, range_key, copy.deepcopy(current)))
    return backup


def _restore(backup: list[tuple]) -> None:
    for table, hash_key, range_key, before in reversed(backup):
        if range_key is None:
            if before is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = before
            continue
        items = table.items.setdefault(hash_key, {})
        if before is None:
            items.pop(range_key, None)
        else:
            items[range_key] = before
        if not items:
            table.items.pop(hash_key, None)


def _reserve(named: list[tuple[Table, Any, Any]]) -> list[tuple[str, Any, Any]]:
    """Mark the transaction's items as being written, or cancel it as DynamoDB does when one of them is already."""
    keys = [(table.name, hash_key, range_key) for table, hash_key, range_key in named]
    with _in_flight_lock:
        if any(key in _in_flight for key in keys):
            reasons = [
                ("TransactionConflict", "Transaction is ongoing for the item", None)
                if key in _in_flight
                else (None, None, None)
                for key in keys
            ]
            raise TransactionCanceledException(reasons)
        _in_flight.update(keys)
    return keys


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    # Reserved before the backup is taken: a backup taken earlier could hold what a transaction finishing in
    # between wrote, and putting it back would undo that transaction.
    named = _named_items(self, transact_items)
    keys = _reserve(named)
    try:
        backup = _backup(named)
        _transacting.active = True
        try:
            _original_transact(self, transact_items)
        except Exception:
            _restore(backup)
            raise
        finally:
            _transacting.active = False
    finally:
        with _in_flight_lock:
            _in_flight.difference_update(keys)


def _checked_once(name: str) -> Any:
    """moto's write `name`, without the condition when a transaction has just checked it."""
    write = _original_writes[name]

    def call(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        if getattr(_transacting, "active", False):
            kwargs["condition_expression"] = None
        return write(self, *args, **kwargs)

    return call


def _query(
    self: Table,
    hash_key: DynamoType | None,
    range_comparison: str | None,
    range_objs: list[DynamoType],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """moto's Query, with `_items_to_query` as the items it looks through."""
    _querying.table, _querying.partition = self, None if index_name else hash_key
    try:
        return _original_query(
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            *args,
            **kwargs,
        )
    finally:
        _querying.table = None


def _items_to_query(self: Table) -> list[Item]:
    """moto's all_items, except in a Query of this table: the items of its partition, or for an index every item,
    unsorted (the Query sorts those it keeps)."""
    if getattr(_querying, "table", None) is not self:
        return _original_all_items(self)
    partition = _querying.partition
    if partition is None:
        stored = self.items.values()
        return [item for items in stored for item in items.values()] if self.range_key_attr else list(stored)
    if partition not in self.items:  # not items.get: moto's items is a defaultdict
        return []
    found = self.items[partition]
    return list(found.values()) if self.range_key_attr else [found]


# moto's own limit (LimitedSizeDict): between DynamoDB's 400 KB and the 409-410 KB it was measured to accept.
_ITEM_SIZE_LIMIT = 405000


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    """moto's Item.__init__, the running size kept instead of summed again for every attribute."""
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    size = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        size += bytesize(key) + typed.size()
        if size > _ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, typed)


def _visible(message: Message, now: float) -> bool:
    return now > message.visible_at


def _delayed(message: Message, now: float) -> bool:
    return now < message.delayed_until


def _queue_messages(self: Queue) -> list[Message]:
    """moto's Queue.messages (visible and not delayed), the clock read once."""
    now = unix_time_millis()
    return [message for message in self._messages if _visible(message, now) and not _delayed(message, now)]


def _count_delayed(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for message in self._messages if _delayed(message, now))


def _count_not_visible(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for message in self._messages if not _visible(message, now))


_original_parse_update = UpdateExpressionParser.make


@lru_cache(maxsize=1024)
def _parsed_update(expression: str) -> Any:
    """moto's tree of an update expression, parsed once per text (errors are not cached: they raise again)."""
    return _original_parse_update(expression)


def _parse_update(cls: type, expression_str: str) -> Any:
    return _parsed_update(expression_str)


def _deep_copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """copy.deepcopy for the update check's tree: a node is copied as deepcopy copies it (an instance of its class,
    every attribute copied, a node reached twice copied once) but directly; anything else by copy.deepcopy."""
    if not isinstance(value, Node):
        return copy.deepcopy(value, memo)
    return _copied_node(value, {} if memo is None else memo)


def _copied_node(node: Node, memo: dict[int, Any]) -> Any:
    twin = memo.get(id(node))
    if twin is not None:
        return twin
    twin = memo[id(node)] = object.__new__(type(node))
    for name, value in node.__dict__.items():
        twin.__dict__[name] = _copied_member(value, memo)
    return twin


def _copied_member(value: Any, memo: dict[int, Any]) -> Any:
    kind: type = type(value)
    if kind in (str, int) or value is None:
        return value  # immutable: deepcopy gives it back as it is
    if kind is list:  # a node's children
        twin = memo.get(id(value))
        if twin is None:
            twin = memo[id(value)] = []
            twin.extend([_copied_member(member, memo) for member in value])
        return twin
    if _is_node(kind):
        return _copied_node(value, memo)
    return copy.deepcopy(value, memo)


@cache
def _is_node(kind: type) -> bool:
    """Whether a class is a node's (isinstance would go through Node's abstract base class checks every time)."""
    return issubclass(kind, Node)


_SHAPE_CHECKS = (
    dynamodb_validators.ActionCountValidator,
    dynamodb_validators.OverlappingPathsValidator,
    dynamodb_validators.UpdateHashRangeKeyValidator,
)
# The update trees whose shape checks passed, with the names and the table keys they passed with.
_shapes_passed: WeakKeyDictionary[Node, set[tuple[str, tuple[str, ...]]]] = WeakKeyDictionary()
# The nodes an update's tree is made of when its check reads nothing of the item (`_reads_no_item`).
_ASSIGNMENTS = (UpdateExpressionSetAction, UpdateExpressionAddAction)
_GROUPS = frozenset(
    {
        UpdateExpression,
        UpdateExpressionSetClause,
        UpdateExpressionSetActions,
        UpdateExpressionAddClause,
        UpdateExpressionAddActions,
    }
)
_TOP_LEVEL_NAMES = (ExpressionAttribute, ExpressionAttributeName)
# Whether an update's tree reads nothing of the item, by tree.
_item_free: WeakKeyDictionary[Node, bool] = WeakKeyDictionary()


class _EmptiedWhenFull(dict[K, V]):
    """A cache of parses or checks by the text, names and values they were made with: timestamps in values make
    many of them used once, so it is emptied when full rather than grown."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def keep(self, key: K, value: V) -> None:
        if len(self) >= self.size:
            self.clear()
        self[key] = value


# The checked tree of an update that reads nothing of the item, by its tree, the table's keys and attribute types, and
# the names and values given. A counter's tree takes 3.4 KB: a thousand of them, a few MB.
_checked_updates: _EmptiedWhenFull[tuple, Node] = _EmptiedWhenFull(1024)


def _validator_init(
    self: Any,
    expression: Node,
    expression_attribute_names: dict,
    expression_attribute_values: dict,
    item: Any,
    table: Table,
) -> None:
    """moto's Validator.__init__, without the copy of the tree and the walks it sets up: the check makes them when it
    walks the tree (`_validate_update`)."""
    self.expression_attribute_names = expression_attribute_names
    self.expression_attribute_values = expression_attribute_values
    self.item = item
    self.table = table
    self.parsed_tree = expression  # parsed once (above): never changed, the check walks a copy


def _reads_no_item(node: Node) -> bool:
    """Whether every action of an update sets or adds one placeholder's value to a top-level attribute (a rate-limit
    counter's `ADD #c0 :one SET expires_at = :expires`): its check then depends on the names, the values and the
    table, not on the item (a top-level attribute can always be created; no path, function or sum is read)."""
    if isinstance(node, _ASSIGNMENTS):
        target, value = node.children
        if type(value) is UpdateExpressionValue and len(value.children) == 1:
            value = value.children[0]  # SET's value: one operand, no sum
        return (
            len(target.children) == 1
            and isinstance(target.children[0], _TOP_LEVEL_NAMES)
            and type(value) is ExpressionAttributeValue
        )
    return type(node) in _GROUPS and all(_reads_no_item(child) for child in node.children or ())


def _validate_update(self: Any) -> Any:
    """moto's check of an update: for one that reads nothing of the item, a copy of its checked tree when it has been
    checked with the same names, values and table; otherwise leaving out the shape checks that have passed for its
    tree, names and keys. A check that fails raises every time: only checked trees are kept."""
    tree, table, names = self.parsed_tree, self.table, repr(self.expression_attribute_names)
    if (item_free := _item_free.get(tree)) is None:
        item_free = _item_free[tree] = _reads_no_item(tree)
    key = None
    if item_free:
        values = repr(self.expression_attribute_values)
        key = (tree, table.name, repr(table.attr), tuple(table.attribute_keys), names, values)
        if (checked := _checked_updates.get(key)) is not None:
            return _deep_copy(checked)  # the write keeps the values it sets: a copy, as the check would make
    shape = (names, tuple(table.table_key_attrs))
    passed = _shapes_passed.setdefault(tree, set())
    shape_passed = shape in passed
    node = _deep_copy(tree)
    for processor in self.get_ast_processors():
        if not (shape_passed and isinstance(processor, _SHAPE_CHECKS)):
            node = processor.traverse(node)
    passed.add(shape)
    if key is not None:
        _checked_updates.keep(key, _deep_copy(node))
    return node


_original_parse_condition = ConditionExpressionParser.parse
# A condition's tree, and the names and values it uses (which the request's check reads off the parser), by its text
# and the names and values given.
_parsed_conditions: _EmptiedWhenFull[tuple[str, str, str], tuple[Any, list[str], list[str]]] = _EmptiedWhenFull(4096)


def _parse_condition(self: ConditionExpressionParser) -> Any:
    """moto's parse of a condition or filter, once per text, names and values (reprs: equal only when equal)."""
    if not self.condition_expression:
        return _original_parse_condition(self)
    key = (self.condition_expression, repr(self.expression_attribute_names), repr(self.expression_attribute_values))
    parsed = _parsed_conditions.get(key)
    if parsed is None:
        tree = _original_parse_condition(self)
        _parsed_conditions.keep(key, (tree, list(self.expr_attr_names_found), list(self.expr_attr_values_found)))
        return tree
    tree, names, values = parsed
    self.expr_attr_names_found.extend(names)
    self.expr_attr_values_found.extend(values)
    return tree


_original_serialize_structure = BaseJSONSerializer._serialize_type_structure


def _wire_value(value: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB attribute value as its JSON wire form (`{"S": ...}`, `{"M": {...}}`, ...)."""
    (kind, inner), *_ = value.items()
    if kind == "M":
        return {"M": {name: _wire_value(member) for name, member in inner.items()}}
    if kind == "L":
        return {"L": [_wire_value(member) for member in inner]}
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(member).decode() for member in inner]}
    if kind in ("S", "N"):
        return {kind: str(inner)}
    return {kind: inner}  # BOOL, NULL, SS, NS


def _serialize_structure(self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str) -> None:
    if shape.name == "AttributeValue" and key and isinstance(value, dict) and len(value) == 1:
        serialized[key] = _wire_value(value)
        return
    _original_serialize_structure(self, serialized, value, shape, key)


_original_parse_structure = BaseJSONParser._parse_structure
_SCALAR_KINDS = frozenset({"S", "N", "BOOL", "NULL"})


def _request_value(parser: BaseJSONParser, value: Any) -> dict[str, Any] | None:
    """A DynamoDB attribute value sent in a request, as moto's parser makes it (binary values decoded); None when it
    is not one well-formed value, for moto's own parser to deal with."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (kind, inner), *_ = value.items()
    if inner is None:
        return None
    if kind in _SCALAR_KINDS:
        return {kind: inner}
    if kind in ("SS", "NS") and isinstance(inner, list):
        return {kind: list(inner)}
    if kind == "B":
        return {kind: parser._blob_parser(inner)}
    if kind == "BS" and isinstance(inner, list):
        return {kind: [parser._blob_parser(member) for member in inner]}
    if kind == "L" and isinstance(inner, list):
        members = [_request_value(parser, member) for member in inner]
        return None if None in members else {kind: members}
    if kind == "M" and isinstance(inner, dict):
        named = {name: _request_value(parser, member) for name, member in inner.items()}
        return None if None in named.values() else {kind: named}
    return None


def _parse_structure(self: BaseJSONParser, shape: Any, value: Any) -> Any:
    if shape.name == "AttributeValue" and (parsed := _request_value(self, value)) is not None:
        return parsed
    return _original_parse_structure(self, shape, value)


_original_node_types = DepthFirstTraverser.nodes_to_be_processed


def _node_types(self: DepthFirstTraverser) -> tuple:
    """The node types a walk of moto's processes: its map's keys, fixed by its class, so kept once worked out."""
    kept = self.__dict__.get("_node_types")
    if kept is None:
        kept = self.__dict__["_node_types"] = _original_node_types(self)
    return kept


def _form_fields_parsed(self: MotoRequest) -> bool:
    """werkzeug's rule (a body with a form's content type is parsed as form fields), but not for a PUT, whose body is
    the object or resource it puts."""
    return self.method != "PUT" and super(MotoRequest, self).want_form_data_parsed


def apply() -> None:
    """Idempotent: patch moto in this process (DynamoDB, SQS, and the request handling of every service)."""
    dynamodb_models.copy = _CopyWithoutTables  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    for name in _original_writes:
        setattr(DynamoDBBackend, name, _checked_once(name))
    Item.__init__ = _item_init  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    Table.all_items = _items_to_query  # type: ignore[method-assign]
    UpdateExpressionParser.make = classmethod(_parse_update)  # type: ignore[method-assign,assignment]
    ConditionExpressionParser.parse = _parse_condition  # type: ignore[method-assign]
    BaseJSONSerializer._serialize_type_structure = _serialize_structure  # type: ignore[method-assign]
    BaseJSONParser._parse_structure = _parse_structure  # type: ignore[method-assign]
    DepthFirstTraverser.nodes_to_be_processed = _node_types  # type: ignore[method-assign]
    dynamodb_validators.UpdateExpressionValidator.__init__ = _validator_init  # type: ignore[method-assign]
    dynamodb_validators.UpdateExpressionValidator.validate = _validate_update  # type: ignore[method-assign]
    MotoRequest.want_form_data_parsed = property(_form_fields_parsed)  # type: ignore[method-assign,assignment]
    Queue.messages = property(_queue_messages)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_delayed = property(_count_delayed)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_not_visible = property(_count_not_visible)  # type: ignore[method-assign,assignment]
