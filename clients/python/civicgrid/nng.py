"""nng's REQ socket through ctypes on the system's libnng (libnng.so.1).

Only what a client needs: open a req0 socket, dial in the background,
count connected pipes, send one request and wait for its reply.
"""
import ctypes
import ctypes.util
import threading

NNG_FLAG_ALLOC = 1
NNG_FLAG_NONBLOCK = 2
NNG_DURATION_INFINITE = -1
NNG_PIPE_EV_ADD_POST = 1
NNG_PIPE_EV_REM_POST = 2
NNG_ETIMEDOUT = 5
NNG_ECLOSED = 7


class _Id(ctypes.Structure):
    """nng_socket, nng_dialer and nng_pipe are all struct { uint32_t id; }."""
    _fields_ = [("id", ctypes.c_uint32)]


_PIPE_CB = ctypes.CFUNCTYPE(None, _Id, ctypes.c_int, ctypes.c_void_p)
_lib = None


def lib():
    global _lib
    if _lib is None:
        name = ctypes.util.find_library("nng") or "libnng.so.1"
        try:
            L = ctypes.CDLL(name)
        except OSError:
            L = ctypes.CDLL("libnng.so.1")
        P, I, S, c = ctypes.POINTER, ctypes.c_int, ctypes.c_char_p, ctypes
        for fn, args in {
            "nng_req0_open": [P(_Id)],
            "nng_close": [_Id],
            "nng_socket_set_ms": [_Id, S, c.c_int32],
            "nng_socket_set_size": [_Id, S, c.c_size_t],
            "nng_dialer_create": [P(_Id), _Id, S],
            "nng_dialer_set_ms": [_Id, S, c.c_int32],
            "nng_dialer_start": [_Id, I],
            "nng_pipe_notify": [_Id, I, _PIPE_CB, c.c_void_p],
            "nng_send": [_Id, c.c_void_p, c.c_size_t, I],
            "nng_recv": [_Id, c.c_void_p, P(c.c_size_t), I],
        }.items():
            f = getattr(L, fn)
            f.argtypes, f.restype = args, I
        L.nng_free.argtypes, L.nng_free.restype = [c.c_void_p, c.c_size_t], None
        L.nng_strerror.argtypes, L.nng_strerror.restype = [I], S
        _lib = L
    return _lib


class NngError(Exception):
    def __init__(self, rv, what):
        super().__init__("%s: %s" % (what, lib().nng_strerror(rv).decode()))
        self.rv = rv


def _check(rv, what):
    if rv != 0:
        raise NngError(rv, what)


class ReqSocket:
    """A req0 socket dialing one URL, reconnecting by itself. One request at
    a time (a lock serializes callers); `connected` counts live pipes."""

    def __init__(self, url, max_msg=4 << 20):
        L = lib()
        self._sock = _Id()
        _check(L.nng_req0_open(ctypes.byref(self._sock)), "nng_req0_open")
        self._lock = threading.Lock()
        self._pipes = 0
        self._cv = threading.Condition()
        # Kept alive as long as the socket: nng calls it from its threads.
        self._cb = _PIPE_CB(self._on_pipe)
        s = self._sock
        # nng's REQ would otherwise re-send a request after 60 s behind our
        # back, running a write twice.
        _check(L.nng_socket_set_ms(s, b"req:resend-time", NNG_DURATION_INFINITE), "resend-time")
        _check(L.nng_socket_set_size(s, b"recv-size-max", max_msg), "recv-size-max")
        _check(L.nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, self._cb, None), "pipe_notify")
        _check(L.nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, self._cb, None), "pipe_notify")
        d = _Id()
        _check(L.nng_dialer_create(ctypes.byref(d), s, url.encode()), "nng_dialer_create")
        L.nng_dialer_set_ms(d, b"reconnect-time-min", 50)
        L.nng_dialer_set_ms(d, b"reconnect-time-max", 1000)
        # Non-blocking: a server that is not there yet is dialed again and again.
        _check(L.nng_dialer_start(d, NNG_FLAG_NONBLOCK), "nng_dialer_start")
        self._closed = False

    def _on_pipe(self, pipe, ev, arg):
        with self._cv:
            self._pipes += 1 if ev == NNG_PIPE_EV_ADD_POST else -1
            self._cv.notify_all()

    @property
    def connected(self):
        return self._pipes > 0

    def wait_connected(self, timeout_s):
        with self._cv:
            return self._cv.wait_for(lambda: self._pipes > 0, timeout_s)

    def exchange(self, data, timeout_ms):
        """Send one request, return its reply's bytes; raises NngError
        (rv NNG_ETIMEDOUT when the reply did not come within timeout_ms)."""
        L = lib()
        with self._lock:
            t = max(1, int(timeout_ms))
            _check(L.nng_socket_set_ms(self._sock, b"send-timeout", t), "send-timeout")
            _check(L.nng_socket_set_ms(self._sock, b"recv-timeout", t), "recv-timeout")
            _check(L.nng_send(self._sock, data, len(data), 0), "send")
            buf, size = ctypes.c_void_p(), ctypes.c_size_t()
            _check(L.nng_recv(self._sock, ctypes.byref(buf), ctypes.byref(size), NNG_FLAG_ALLOC), "recv")
            try:
                return ctypes.string_at(buf, size.value)
            finally:
                L.nng_free(buf, size.value)

    def close(self, timeout_s=5.0):
        """Close the socket. nng 1.5.2's nng_close can deadlock in its reaper
        (nanomsg/nng#1543): wait for it at most timeout_s."""
        if self._closed:
            return
        self._closed = True
        t = threading.Thread(target=lib().nng_close, args=(self._sock,), daemon=True)
        t.start()
        t.join(timeout_s)
