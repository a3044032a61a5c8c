import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from neutone.v1 import access_pb2 as _access_pb2
from neutone.v1 import billing_pb2 as _billing_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetBalanceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("balance",)
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    balance: int
    def __init__(self, balance: _Optional[int] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ("transactions", "next_page_token")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[_billing_pb2.Transaction]
    next_page_token: str
    def __init__(self, transactions: _Optional[_Iterable[_Union[_billing_pb2.Transaction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("products",)
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[_billing_pb2.Product]
    def __init__(self, products: _Optional[_Iterable[_Union[_billing_pb2.Product, _Mapping]]] = ...) -> None: ...

class CreateCheckoutSessionRequest(_message.Message):
    __slots__ = ("product_id", "success_url")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_URL_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    success_url: str
    def __init__(self, product_id: _Optional[str] = ..., success_url: _Optional[str] = ...) -> None: ...

class CreateCheckoutSessionResponse(_message.Message):
    __slots__ = ("checkout_url",)
    CHECKOUT_URL_FIELD_NUMBER: _ClassVar[int]
    checkout_url: str
    def __init__(self, checkout_url: _Optional[str] = ...) -> None: ...

class CreatePortalSessionRequest(_message.Message):
    __slots__ = ("return_url",)
    RETURN_URL_FIELD_NUMBER: _ClassVar[int]
    return_url: str
    def __init__(self, return_url: _Optional[str] = ...) -> None: ...

class CreatePortalSessionResponse(_message.Message):
    __slots__ = ("portal_url",)
    PORTAL_URL_FIELD_NUMBER: _ClassVar[int]
    portal_url: str
    def __init__(self, portal_url: _Optional[str] = ...) -> None: ...

class ReserveCreditsRequest(_message.Message):
    __slots__ = ("user_id", "song_id", "other_song_ids")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    OTHER_SONG_IDS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    song_id: str
    other_song_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user_id: _Optional[str] = ..., song_id: _Optional[str] = ..., other_song_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ReserveCreditsResponse(_message.Message):
    __slots__ = ("reservation", "balance")
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    reservation: _billing_pb2.Reservation
    balance: int
    def __init__(self, reservation: _Optional[_Union[_billing_pb2.Reservation, _Mapping]] = ..., balance: _Optional[int] = ...) -> None: ...

class CommitCreditsRequest(_message.Message):
    __slots__ = ("song_id",)
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    def __init__(self, song_id: _Optional[str] = ...) -> None: ...

class CommitCreditsResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: _billing_pb2.Reservation
    def __init__(self, reservation: _Optional[_Union[_billing_pb2.Reservation, _Mapping]] = ...) -> None: ...

class ReleaseCreditsRequest(_message.Message):
    __slots__ = ("song_id", "reason", "song_abandoned")
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SONG_ABANDONED_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    reason: str
    song_abandoned: bool
    def __init__(self, song_id: _Optional[str] = ..., reason: _Optional[str] = ..., song_abandoned: _Optional[bool] = ...) -> None: ...

class ReleaseCreditsResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: _billing_pb2.Reservation
    def __init__(self, reservation: _Optional[_Union[_billing_pb2.Reservation, _Mapping]] = ...) -> None: ...

class ListReservationsRequest(_message.Message):
    __slots__ = ("state", "create_time_before", "page_size", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: _billing_pb2.ReservationState
    create_time_before: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, state: _Optional[_Union[_billing_pb2.ReservationState, str]] = ..., create_time_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReservationsResponse(_message.Message):
    __slots__ = ("reservations", "next_page_token")
    RESERVATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reservations: _containers.RepeatedCompositeFieldContainer[_billing_pb2.Reservation]
    next_page_token: str
    def __init__(self, reservations: _Optional[_Iterable[_Union[_billing_pb2.Reservation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DetachAccountRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class DetachAccountResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ApplyPaymentEventRequest(_message.Message):
    __slots__ = ("payload", "headers")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    headers: _containers.ScalarMap[str, str]
    def __init__(self, payload: _Optional[bytes] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ApplyPaymentEventResponse(_message.Message):
    __slots__ = ("event_id", "applied")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    applied: bool
    def __init__(self, event_id: _Optional[str] = ..., applied: _Optional[bool] = ...) -> None: ...
