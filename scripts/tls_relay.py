#!/usr/bin/env python3
"""A plain-TCP to TLS relay, so a test runner that speaks only ws:// (kosoku
0.1.0 refuses wss:// addresses) can drive a wss:// server: every connection
to LISTEN is relayed over TLS to TARGET, verifying TARGET's certificate
against CA.pem. Prints its port once listening.

    tls_relay.py TARGET_HOST:PORT SERVER_NAME CA.pem
"""
import asyncio
import ssl
import sys

target_host, target_port = sys.argv[1].rsplit(":", 1)
server_name = sys.argv[2]
context = ssl.create_default_context(cafile=sys.argv[3])


async def pipe(reader, writer):
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        try:
            writer.write_eof() if writer.can_write_eof() else writer.close()
        except (OSError, RuntimeError):
            writer.close()


async def relay(client_reader, client_writer):
    try:
        tls_reader, tls_writer = await asyncio.open_connection(
            target_host, int(target_port), ssl=context, server_hostname=server_name)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, tls_writer), pipe(tls_reader, client_writer))
    client_writer.close()
    tls_writer.close()


async def main():
    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
