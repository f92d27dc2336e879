"""civicgrid for Python: a small client that shares no code with the C one.

    from civicgrid import protos, Channel, CivicError
    protos.load()                       # protoc --python_out into a temp dir
    from civic.gateway.v1 import gateway_pb2
    with Channel("tcp://127.0.0.1:7000", token=...) as ch:
        ch.call("/civic.gateway.v1.GatewayService/WhoAmI", gateway_pb2.WhoAmIRequest(),
                gateway_pb2.WhoAmIResponse, read=True)
"""
from . import protos
from .client import CODE_NAMES, Channel, CivicError, new_idempotency_key

__all__ = ["protos", "Channel", "CivicError", "CODE_NAMES", "new_idempotency_key"]
