"""The least an ASGI WebSocket application can do: accept, send a hello.

bench/ws_accept.py serves it with daphne (as `realtime.server` runs it) to
measure the server's own cost of an accept, apart from the application's."""


async def application(scope, receive, send):
    if scope["type"] != "websocket":
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": '{"type":"hello"}'})
        elif message["type"] == "websocket.disconnect":
            return
