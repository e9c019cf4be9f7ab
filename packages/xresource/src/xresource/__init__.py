"""xresource: typed async resources — files, databases, REST APIs and event streams.

Every resource is an :class:`XResource`: a validated Pydantic model of its parameters that manages
its own pool or session. Create one by type or URL::

    from xresource import ResourceFactory

    async with ResourceFactory.from_url("sqlite:///app.db") as db:
        rows = await db.fetch_all("SELECT * FROM users WHERE age > ?", [30])

Driver-backed classes are imported on first access, so ``import xresource`` needs no driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xobj_prototype import lazy_exports
from xresource.__about__ import __version__
from xresource.base import ResourceMetadata, XResource
from xresource.databases.base import DatabaseResource, SQLDatabaseResource, SQLExecutor
from xresource.databases.dialect import MYSQL, POSTGRESQL, SQLITE, SQLDialect
from xresource.errors import (
    XResourceAuthenticationError,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceError,
    XResourceIntegrityError,
    XResourceNotFoundError,
    XResourcePoolExhaustedError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceUnknownTypeError,
    XResourceValidationError,
)
from xresource.factory import ResourceFactory
from xresource.url import ParsedURL, parse_url

if TYPE_CHECKING:
    from xresource.databases.mongodb import MongoDBResource
    from xresource.databases.mysql import MySQLResource
    from xresource.databases.postgres import PostgreSQLResource
    from xresource.databases.sqlite import SQLiteResource
    from xresource.files.base import FileResource
    from xresource.files.csv import CSVResource
    from xresource.files.excel import ExcelResource
    from xresource.files.json import JSONResource
    from xresource.files.yaml import YAMLResource
    from xresource.network.rest import RESTResource
    from xresource.streams.base import EventStreamResource
    from xresource.streams.envelope import StreamMessage
    from xresource.streams.kafka import KafkaResource
    from xresource.streams.mqtt import MQTTResource
    from xresource.streams.rabbitmq import RabbitMQResource
    from xresource.streams.redis import RedisPubSubResource
    from xresource.streams.sse import SSEResource
    from xresource.streams.websocket import WebSocketResource

# Public names that live in modules importing optional drivers: loaded on first attribute access.
# The subpackages have faces of their own (xresource.databases, .files, .network, .streams) with
# the names a plugin or a specialised use needs besides these.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "FileResource": "xresource.files.base",
        "CSVResource": "xresource.files.csv",
        "ExcelResource": "xresource.files.excel",
        "JSONResource": "xresource.files.json",
        "YAMLResource": "xresource.files.yaml",
        "SQLiteResource": "xresource.databases.sqlite",
        "PostgreSQLResource": "xresource.databases.postgres",
        "MySQLResource": "xresource.databases.mysql",
        "MongoDBResource": "xresource.databases.mongodb",
        "RESTResource": "xresource.network.rest",
        "EventStreamResource": "xresource.streams.base",
        "StreamMessage": "xresource.streams.envelope",
        "WebSocketResource": "xresource.streams.websocket",
        "SSEResource": "xresource.streams.sse",
        "RedisPubSubResource": "xresource.streams.redis",
        "KafkaResource": "xresource.streams.kafka",
        "RabbitMQResource": "xresource.streams.rabbitmq",
        "MQTTResource": "xresource.streams.mqtt",
    },
    extras={
        "xresource.files.excel": "xresource[excel]",
        "xresource.files.yaml": "xresource[yaml]",
        "xresource.databases.postgres": "xresource[postgres]",
        "xresource.databases.mysql": "xresource[mysql]",
        "xresource.databases.mongodb": "xresource[mongodb]",
        "xresource.network.rest": "xresource[rest]",
    },
)

__all__ = [
    "MYSQL",
    "POSTGRESQL",
    "SQLITE",
    "CSVResource",
    "DatabaseResource",
    "EventStreamResource",
    "ExcelResource",
    "FileResource",
    "JSONResource",
    "KafkaResource",
    "MQTTResource",
    "MongoDBResource",
    "MySQLResource",
    "ParsedURL",
    "PostgreSQLResource",
    "RESTResource",
    "RabbitMQResource",
    "RedisPubSubResource",
    "ResourceFactory",
    "ResourceMetadata",
    "SQLDatabaseResource",
    "SQLDialect",
    "SQLExecutor",
    "SQLiteResource",
    "SSEResource",
    "StreamMessage",
    "WebSocketResource",
    "XResource",
    "XResourceAuthenticationError",
    "XResourceConfigurationError",
    "XResourceConnectionError",
    "XResourceError",
    "XResourceIntegrityError",
    "XResourceNotFoundError",
    "XResourcePoolExhaustedError",
    "XResourceQueryError",
    "XResourceTimeoutError",
    "XResourceUnknownTypeError",
    "XResourceValidationError",
    "YAMLResource",
    "__version__",
    "parse_url",
]
