"""A small FastCGI client (responder role) in stdlib Python.

Lets the integration tests talk to a concertd socket directly, without a web
server in between, and control the timing of what is sent (e.g. params, then
part of the body, a pause, then the rest).

    resp = request("/tmp/x/concertd.sock", "GET", "/api/v1/ping")
    resp.status, resp.headers["content-type"], resp.body

    conn = FcgiConnection("/tmp/x/concertd.sock")
    conn.begin()
    conn.send_params(make_params("POST", "/api/v1/ping", body_len=20))
    conn.send_stdin(b"0123456789")
    ...                                   # pause
    conn.send_stdin(b"abcdefghij")
    conn.end_stdin()
    resp = conn.read_response()

Addresses are a unix socket path (str) or a (host, port) tuple.
"""

import socket
import struct

FCGI_VERSION_1 = 1
FCGI_BEGIN_REQUEST = 1
FCGI_ABORT_REQUEST = 2
FCGI_END_REQUEST = 3
FCGI_PARAMS = 4
FCGI_STDIN = 5
FCGI_STDOUT = 6
FCGI_STDERR = 7
FCGI_RESPONDER = 1
FCGI_KEEP_CONN = 1
FCGI_REQUEST_COMPLETE = 0

_HEADER = struct.Struct("!BBHHBx")
MAX_CONTENT = 65535


class FcgiError(Exception):
    """Protocol violation or connection closed before END_REQUEST."""


class FcgiResponse:
    def __init__(self, status, headers, body, stdout, stderr, app_status,
                 protocol_status):
        self.status = status              # int, from "Status:" (default 200)
        self.headers = headers            # dict, lower-case names
        self.body = body                  # bytes after the header block
        self.stdout = stdout              # raw FCGI_STDOUT bytes
        self.stderr = stderr              # raw FCGI_STDERR bytes
        self.app_status = app_status
        self.protocol_status = protocol_status

    def __repr__(self):
        return "FcgiResponse(status=%r, body=%r)" % (self.status,
                                                    self.body[:200])


def _encode_length(n):
    if n < 128:
        return bytes([n])
    return struct.pack("!I", n | 0x80000000)


def encode_params(params):
    """FastCGI name-value pair encoding of a dict (str or bytes)."""
    out = bytearray()
    for name, value in params.items():
        if isinstance(name, str):
            name = name.encode("latin-1")
        if isinstance(value, str):
            value = value.encode("latin-1")
        out += _encode_length(len(name)) + _encode_length(len(value))
        out += name + value
    return bytes(out)


def make_params(method, uri, body_len=0, content_type=None, headers=None,
                extra=None):
    """The CGI/1.1 variables nginx's fastcgi_params would send."""
    path, _, query = uri.partition("?")
    params = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "fcgi_client.py",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "REQUEST_SCHEME": "http",
        "REQUEST_METHOD": method,
        "REQUEST_URI": uri,
        "DOCUMENT_URI": path,
        "SCRIPT_NAME": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(body_len) if body_len else "",
        "CONTENT_TYPE": content_type or "",
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            params[key] = value
        else:
            params["HTTP_" + key] = value
    params.update(extra or {})
    return params


def parse_cgi_response(stdout):
    """Split CGI output into (status, headers, body)."""
    sep = stdout.find(b"\r\n\r\n")
    seplen = 4
    lf = stdout.find(b"\n\n")
    if lf != -1 and (sep == -1 or lf < sep):
        sep, seplen = lf, 2
    if sep == -1:
        raise FcgiError("no end of headers in response: %r" % stdout[:200])
    headers = {}
    for line in stdout[:sep].decode("latin-1").splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise FcgiError("malformed header line %r" % line)
        headers[name.strip().lower()] = value.strip()
    status = 200
    if "status" in headers:
        status = int(headers["status"].split()[0])
    return status, headers, stdout[sep + seplen:]


class FcgiConnection:
    """One connection carrying one request (request id 1)."""

    def __init__(self, address, timeout=10.0, request_id=1):
        self.request_id = request_id
        if isinstance(address, (tuple, list)):
            self.sock = socket.create_connection(tuple(address), timeout)
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect(address)
            except BaseException:
                self.sock.close()
                raise
        self._buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _record(self, rtype, content=b""):
        pad = (8 - len(content) % 8) % 8
        return (_HEADER.pack(FCGI_VERSION_1, rtype, self.request_id,
                             len(content), pad)
                + content + b"\0" * pad)

    def _stream(self, rtype, data):
        out = bytearray()
        for i in range(0, len(data), MAX_CONTENT):
            out += self._record(rtype, data[i:i + MAX_CONTENT])
        return bytes(out)

    def begin(self, keep_conn=False):
        body = struct.pack("!HB5x", FCGI_RESPONDER,
                           FCGI_KEEP_CONN if keep_conn else 0)
        self.sock.sendall(self._record(FCGI_BEGIN_REQUEST, body))

    def send_params(self, params):
        """All params and the empty record that ends the stream."""
        self.sock.sendall(self._stream(FCGI_PARAMS, encode_params(params))
                          + self._record(FCGI_PARAMS))

    def send_stdin(self, data):
        if data:
            self.sock.sendall(self._stream(FCGI_STDIN, data))

    def end_stdin(self):
        self.sock.sendall(self._record(FCGI_STDIN))

    def _read_exact(self, n):
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise FcgiError("connection closed before END_REQUEST "
                                "(%d bytes pending)" % len(self._buf))
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def read_response(self):
        stdout = bytearray()
        stderr = bytearray()
        while True:
            version, rtype, rid, clen, plen = _HEADER.unpack(
                self._read_exact(_HEADER.size))
            if version != FCGI_VERSION_1:
                raise FcgiError("bad record version %d" % version)
            content = self._read_exact(clen)
            self._read_exact(plen)
            if rid != self.request_id:
                raise FcgiError("record for request id %d" % rid)
            if rtype == FCGI_STDOUT:
                stdout += content
            elif rtype == FCGI_STDERR:
                stderr += content
            elif rtype == FCGI_END_REQUEST:
                app_status, proto = struct.unpack("!IB3x", content)
                break
            else:
                raise FcgiError("unexpected record type %d" % rtype)
        if proto != FCGI_REQUEST_COMPLETE:
            raise FcgiError("protocol status %d" % proto)
        status, headers, body = parse_cgi_response(bytes(stdout))
        return FcgiResponse(status, headers, body, bytes(stdout),
                            bytes(stderr), app_status, proto)


def request(address, method="GET", uri="/api/v1/ping", body=b"",
            headers=None, content_type=None, timeout=10.0):
    """Send one complete request and return its FcgiResponse."""
    if isinstance(body, str):
        body = body.encode()
    with FcgiConnection(address, timeout) as conn:
        conn.begin()
        conn.send_params(make_params(method, uri, len(body),
                                     content_type, headers))
        conn.send_stdin(body)
        conn.end_stdin()
        return conn.read_response()
