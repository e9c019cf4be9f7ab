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
from xresource.databases.dialect import DUCKDB, MYSQL, POSTGRESQL, SQLITE, SQLDialect
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
    from xresource.databases import (
        DuckDBResource,
        MongoDBResource,
        MySQLResource,
        PostgreSQLResource,
        SQLiteResource,
    )
    from xresource.files import (
        ColumnarFileResource,
        CSVResource,
        ExcelResource,
        FileResource,
        JSONResource,
        ParquetColumn,
        ParquetResource,
        YAMLResource,
    )
    from xresource.network import RESTResource
    from xresource.streams import (
        EventStreamResource,
        KafkaResource,
        MQTTResource,
        RabbitMQResource,
        RedisPubSubResource,
        SSEResource,
        StreamMessage,
        WebSocketResource,
    )

# The resource classes, loaded from their subpackage's face on first attribute access: the faces
# import the modules that need a driver only then, and name the extra to install when it is
# missing. They also hold what a plugin or a specialised use needs besides these names.
_FACES = {
    "xresource.files": (
        "FileResource",
        "ColumnarFileResource",
        "CSVResource",
        "ExcelResource",
        "JSONResource",
        "ParquetResource",
        "ParquetColumn",
        "YAMLResource",
    ),
    "xresource.databases": (
        "SQLiteResource",
        "DuckDBResource",
        "PostgreSQLResource",
        "MySQLResource",
        "MongoDBResource",
    ),
    "xresource.network": ("RESTResource",),
    "xresource.streams": (
        "EventStreamResource",
        "StreamMessage",
        "WebSocketResource",
        "SSEResource",
        "RedisPubSubResource",
        "KafkaResource",
        "RabbitMQResource",
        "MQTTResource",
    ),
}
__getattr__, __dir__ = lazy_exports(
    __name__, {name: face for face, names in _FACES.items() for name in names}
)

__all__ = [
    "DUCKDB",
    "MYSQL",
    "POSTGRESQL",
    "SQLITE",
    "CSVResource",
    "ColumnarFileResource",
    "DatabaseResource",
    "DuckDBResource",
    "EventStreamResource",
    "ExcelResource",
    "FileResource",
    "JSONResource",
    "KafkaResource",
    "MQTTResource",
    "MongoDBResource",
    "MySQLResource",
    "ParquetColumn",
    "ParquetResource",
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
