import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransactionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSACTION_KIND_UNSPECIFIED: _ClassVar[TransactionKind]
    TRANSACTION_KIND_WELCOME_GRANT: _ClassVar[TransactionKind]
    TRANSACTION_KIND_PURCHASE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_SONG_CHARGE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_SONG_REFUND: _ClassVar[TransactionKind]
    TRANSACTION_KIND_PURCHASE_REFUND: _ClassVar[TransactionKind]
    TRANSACTION_KIND_CHARGEBACK: _ClassVar[TransactionKind]

class ReservationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_STATE_UNSPECIFIED: _ClassVar[ReservationState]
    RESERVATION_STATE_RESERVED: _ClassVar[ReservationState]
    RESERVATION_STATE_COMMITTED: _ClassVar[ReservationState]
    RESERVATION_STATE_RELEASED: _ClassVar[ReservationState]
TRANSACTION_KIND_UNSPECIFIED: TransactionKind
TRANSACTION_KIND_WELCOME_GRANT: TransactionKind
TRANSACTION_KIND_PURCHASE: TransactionKind
TRANSACTION_KIND_SONG_CHARGE: TransactionKind
TRANSACTION_KIND_SONG_REFUND: TransactionKind
TRANSACTION_KIND_PURCHASE_REFUND: TransactionKind
TRANSACTION_KIND_CHARGEBACK: TransactionKind
RESERVATION_STATE_UNSPECIFIED: ReservationState
RESERVATION_STATE_RESERVED: ReservationState
RESERVATION_STATE_COMMITTED: ReservationState
RESERVATION_STATE_RELEASED: ReservationState

class Product(_message.Message):
    __slots__ = ("id", "display_name", "credits", "price_minor_units", "currency")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    PRICE_MINOR_UNITS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    credits: int
    price_minor_units: int
    currency: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., credits: _Optional[int] = ..., price_minor_units: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ("id", "kind", "amount", "balance_after", "description", "song_id", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: TransactionKind
    amount: int
    balance_after: int
    description: str
    song_id: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[TransactionKind, str]] = ..., amount: _Optional[int] = ..., balance_after: _Optional[int] = ..., description: _Optional[str] = ..., song_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Reservation(_message.Message):
    __slots__ = ("song_id", "user_id", "credits", "state", "create_time")
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    user_id: str
    credits: int
    state: ReservationState
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, song_id: _Optional[str] = ..., user_id: _Optional[str] = ..., credits: _Optional[int] = ..., state: _Optional[_Union[ReservationState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
