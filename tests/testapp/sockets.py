"""WebSocket applications reached by the views of the test project."""

from tornado_websockets.websocket import WebSocket

ws_views = WebSocket("/views")
