"""Python's http.client against examples/http_echo: 100 requests reusing
one connection, bodies echoed, the server counting them on one connection."""
import http.client
import sys

port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
sock = None
for n in range(1, 101):
    body = f"request {n} ✓".encode()
    conn.request("POST" if n % 2 else "PUT", f"/item/{n}", body=body)
    response = conn.getresponse()
    echoed = response.read()
    assert response.status == 200, response.status
    assert echoed == body, (echoed, body)
    assert response.getheader("X-Request-Number") == str(n), response.getheaders()
    if sock is None:
        sock = conn.sock
    assert conn.sock is sock, "http.client opened a new connection"
conn.close()
print("python http.client: 100 requests on one keep-alive connection, each echoed")
