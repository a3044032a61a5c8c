"""POST /webhooks/payments: the payment provider's webhooks, handed to billingsvc
byte for byte (the Standard Webhooks signature covers the raw body), with the
gateway's service identity. Status codes tell the provider whether to retry:
4xx for a webhook that will never be accepted, 5xx for one worth sending again."""

import uuid

import grpc
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.metrics import WEBHOOKS
from neutone.v1 import billing_service_pb2, billing_service_pb2_grpc

log = structlog.get_logger()

HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 422,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# Never forwarded: they belong to the HTTP hop, or are credentials of nobody's business.
_DROPPED_HEADERS = frozenset({"cookie", "authorization", "host", "content-length", "connection"})
TIMEOUT_SECONDS = 10.0


class PaymentWebhooks:
    def __init__(self, billing: billing_service_pb2_grpc.BillingServiceStub, *, max_bytes: int):
        self._billing = billing
        self._max_bytes = max_bytes

    async def handle(self, request: Request) -> JSONResponse:
        response = await self._handle(request)
        WEBHOOKS.labels(str(response.status_code)).inc()
        return response

    async def _handle(self, request: Request) -> JSONResponse:
        payload = bytearray()
        async for chunk in request.stream():
            payload += chunk
            if len(payload) > self._max_bytes:
                return _error(413, f"webhook body is larger than {self._max_bytes} bytes")
        headers = {
            name: value for name, value in request.headers.items() if name not in _DROPPED_HEADERS
        }
        request_id = uuid.uuid4().hex
        try:
            reply = await self._billing.ApplyPaymentEvent(
                billing_service_pb2.ApplyPaymentEventRequest(
                    payload=bytes(payload), headers=headers
                ),
                timeout=TIMEOUT_SECONDS,
                metadata=(("x-request-id", request_id),),
            )
        except grpc.aio.AioRpcError as error:
            status = HTTP_STATUS.get(error.code(), 500)
            log.info("payment webhook refused", code=error.code().name, request_id=request_id)
            return _error(status, error.details() or error.code().name)
        log.info(
            "payment webhook", event_id=reply.event_id, applied=reply.applied, request_id=request_id
        )
        return JSONResponse({"event_id": reply.event_id, "applied": reply.applied})


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
