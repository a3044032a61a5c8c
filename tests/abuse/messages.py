"""Hypothesis strategies for any protobuf message, built from its descriptor:
every field of every type with hostile values (huge and control-character
strings, extreme and non-finite numbers, unknown enum values, deep nesting),
mixed with plausible ones (ids that exist, tokens a server gave out) so that
requests get past the first check as well."""

from collections.abc import Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

MAX_DEPTH = 3
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)
INTEGER_RANGES = {
    FieldDescriptor.TYPE_INT32: INT32,
    FieldDescriptor.TYPE_SINT32: INT32,
    FieldDescriptor.TYPE_SFIXED32: INT32,
    FieldDescriptor.TYPE_INT64: INT64,
    FieldDescriptor.TYPE_SINT64: INT64,
    FieldDescriptor.TYPE_SFIXED64: INT64,
    FieldDescriptor.TYPE_UINT32: UINT32,
    FieldDescriptor.TYPE_FIXED32: UINT32,
    FieldDescriptor.TYPE_UINT64: UINT64,
    FieldDescriptor.TYPE_FIXED64: UINT64,
}

hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(["", " ", "\x00", "\u202e", "' OR 1=1 --", "../../etc/passwd", "%s%n"]),
    st.integers(1_000, 200_000).map(lambda n: "x" * n),
)


def plausible_text(field_name: str, known: dict[str, Sequence[str]]) -> st.SearchStrategy[str]:
    """Values that a real client would send in this field, when there are any."""
    choices = [values for name, values in known.items() if field_name.endswith(name) and values]
    if not choices:
        return st.nothing()
    return st.one_of(*(st.sampled_from(list(values)) for values in choices))


def _scalar(field: FieldDescriptor, known: dict[str, Sequence[str]]) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in INTEGER_RANGES:
        low, high = INTEGER_RANGES[kind]
        return st.one_of(
            st.integers(low, high), st.sampled_from([0, 1, -1 if low else 2, low, high])
        )
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        width = 32 if kind == FieldDescriptor.TYPE_FLOAT else 64
        return st.floats(width=width, allow_nan=True, allow_infinity=True)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_ENUM:
        # Proto3 enums are open: an unknown number arrives as that number.
        known_numbers = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(known_numbers), st.integers(*INT32))
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=2000)
    if kind == FieldDescriptor.TYPE_STRING:
        return st.one_of(plausible_text(field.name, known), hostile_text)
    raise TypeError(f"no strategy for field type {kind}")


def _value(
    field: FieldDescriptor, known: dict[str, Sequence[str]], depth: int
) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return messages(field.message_type, known=known, depth=depth + 1)
    return _scalar(field, known)


@st.composite
def _message(draw: st.DrawFn, descriptor: Descriptor, known: dict, depth: int) -> Message:
    message = GetMessageClass(descriptor)()
    if depth > MAX_DEPTH:
        return message
    chosen_oneofs = {
        oneof.name: draw(st.sampled_from([None, *oneof.fields]))
        for oneof in descriptor.oneofs
        if not oneof.name.startswith("_")  # proto3 optional fields are synthetic oneofs
    }
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if (
            oneof is not None
            and oneof.name in chosen_oneofs
            and chosen_oneofs[oneof.name] is not field
        ):
            continue
        if not draw(st.booleans()) and oneof is None:
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field, value_field = (
                field.message_type.fields_by_name["key"],
                field.message_type.fields_by_name["value"],
            )
            entries = draw(
                st.dictionaries(
                    _scalar(key_field, known), _value(value_field, known, depth), max_size=4
                )
            )
            target = getattr(message, field.name)
            for key, value in entries.items():
                if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    target[key].CopyFrom(value)
                else:
                    target[key] = value
        elif field.is_repeated:
            values = draw(st.lists(_value(field, known, depth), max_size=4))
            target = getattr(message, field.name)
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                for value in values:
                    target.add().CopyFrom(value)
            else:
                target.extend(values)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(message, field.name).CopyFrom(draw(_value(field, known, depth)))
        else:
            setattr(message, field.name, draw(_value(field, known, depth)))
    return message


def messages(
    descriptor: Descriptor, *, known: dict[str, Sequence[str]] | None = None, depth: int = 0
) -> st.SearchStrategy[Message]:
    """Messages of `descriptor`'s type. `known` maps field-name suffixes ("song_id",
    "page_token") to values a real client could send."""
    return _message(descriptor, known or {}, depth)


def request_bytes(
    descriptor: Descriptor, *, known: dict[str, Sequence[str]]
) -> st.SearchStrategy[bytes]:
    """What arrives on the wire: mostly a generated message, sometimes any bytes."""
    encoded = messages(descriptor, known=known).map(lambda message: message.SerializeToString())
    return st.one_of(encoded, encoded, encoded, st.binary(max_size=4000))
