"""python-socketio's client (5.18.1, the `[client]` extra) against
examples/socketio_conformance, over WebSocket and over long-polling: join
with an auth payload, an event with a binary argument echoed, an ack, the
/custom namespace, and an unknown namespace refused. Exits non-zero on any
failure.

    python tests/interop/socketio_python.py http://127.0.0.1:PORT
"""
import sys
import threading

import socketio

URL = sys.argv[1]


def round_trip(transports):
    client = socketio.Client(reconnection=False)
    auth_seen = threading.Event()
    back = threading.Event()
    got = {}

    @client.on("auth")
    def on_auth(data):
        got["auth"] = data
        auth_seen.set()

    @client.on("message-back")
    def on_back(*args):
        got["back"] = args
        back.set()

    client.connect(URL, transports=transports, auth={"token": "py"}, wait_timeout=5)
    try:
        assert auth_seen.wait(5), "no auth event"
        assert got["auth"] == {"token": "py"}, got["auth"]
        client.emit("message", (1, "two", {"3": [True]}, b"\x00\x01\xff", "é😀"))
        assert back.wait(5), "no message-back"
        assert got["back"] == (1, "two", {"3": [True]}, b"\x00\x01\xff", "é😀"), got["back"]
        answer = client.call("message-with-ack", ("ack me", 7), timeout=5)
        # python-socketio hands a multi-argument ack back as a tuple.
        assert answer == ("ack me", 7), answer
        assert client.transport() == transports[0], client.transport()
    finally:
        client.disconnect()
    print(f"python-socketio over {transports[0]}: auth, echo with binary, ack ✓")


def namespaces():
    client = socketio.Client(reconnection=False)
    seen = threading.Event()
    client.on("auth", lambda data: seen.set(), namespace="/custom")
    client.connect(URL, namespaces=["/custom"], transports=["websocket"], wait_timeout=5)
    assert seen.wait(5), "no auth event on /custom"
    client.disconnect()
    refused = socketio.Client(reconnection=False)
    try:
        refused.connect(URL, namespaces=["/random"], transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError as e:
        assert "Invalid namespace" in str(e) or "One or more namespaces failed" in str(e), str(e)
    else:
        raise AssertionError("joined an unknown namespace")
    finally:
        refused.disconnect()
    print("python-socketio: /custom joined, an unknown namespace refused ✓")


round_trip(["websocket"])
round_trip(["polling"])
namespaces()
