"""``TornadoLiveServerTestCase``: Django's ``TransactionTestCase`` with a live Tornado server.

Import it only once Django settings are configured (as with any ``django.test`` class).
"""

from __future__ import annotations

from typing import ClassVar

from django.test import TransactionTestCase, modify_settings
from django.utils.functional import classproperty

from ..conf import TornadoConfig
from .client import WebSocketTestClient
from .server import LiveServerThread, shared_in_memory_databases

__all__ = ["TornadoLiveServerTestCase"]


class TornadoLiveServerTestCase(TransactionTestCase):
    """One live server for the class: ``live_server_url``, ``live_ws_url``, ``self.ws_client``.

    Set ``tornado_config`` (a ``TornadoConfig``) on the class to change limits or threads.
    Connections opened with ``self.ws_client`` are closed after each test.
    """

    tornado_config: ClassVar[TornadoConfig | None] = None
    server_thread: ClassVar[LiveServerThread]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # As Django's LiveServerTestCase: requests to the live server's host are allowed.
        allowed = modify_settings(ALLOWED_HOSTS={"append": "127.0.0.1"})
        allowed.enable()
        cls.addClassCleanup(allowed.disable)
        cls.server_thread = LiveServerThread(
            config=cls.tornado_config, connections_override=shared_in_memory_databases()
        )
        cls.server_thread.start_and_wait()
        cls.addClassCleanup(cls.server_thread.stop)

    @classproperty
    def live_server_url(cls) -> str:
        return cls.server_thread.http_url

    @classproperty
    def live_ws_url(cls) -> str:
        return cls.server_thread.ws_url

    def setUp(self) -> None:
        super().setUp()
        self.ws_client = WebSocketTestClient(self.server_thread)
        self.addCleanup(self.ws_client.close)
