"""Import control: a real models package on disk whose __init__.py is the gate."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from xregistry import (
    ModelGate,
    ModelSource,
    RegistryNotFoundError,
    RegistryPermissionError,
    RegistryValidationError,
    XRegistry,
    auto_discover_models,
)

INIT = '''
"""Models of the shop: the only place application code imports models from."""
from xregistry import ModelGate, default_registry

from .product import Product
from .user import User, UserProfile

gate = ModelGate(__name__, default_registry())
gate.export(User, permissions={"admin": ["create", "read", "update", "delete"],
                               "user": ["read"]})
gate.export(UserProfile, Product)

get_model = gate.get_model
list_models = gate.list_models
register_dynamic_model = gate.register_dynamic_model
check_model_access = gate.check_model_access

__all__ = ["Product", "User", "UserProfile", "check_model_access", "get_model", "list_models",
           "register_dynamic_model"]
'''
USER = '''
from pydantic import BaseModel, Field

class User(BaseModel):
    """User account model"""
    id: str
    email: str
    username: str = Field(min_length=3, max_length=50)
    is_active: bool = True

class UserProfile(BaseModel):
    user_id: str
    bio: str | None = None

class Secret(BaseModel):
    """Defined here, deliberately not exported by the package."""
    key: str
'''
PRODUCT = """
from pydantic import BaseModel

class Product(BaseModel):
    name: str
    price: float

class Draft(BaseModel):
    name: str
"""
PRIVATE = """
from pydantic import BaseModel

class Hidden(BaseModel):
    x: int
"""


@pytest.fixture
def shop(
    tmp_path: Path, registry: XRegistry, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    name = f"shop_models_{uuid.uuid4().hex[:8]}"
    pkg = tmp_path / name
    pkg.mkdir()
    for file, text in (
        ("__init__.py", INIT),
        ("user.py", USER),
        ("product.py", PRODUCT),
        ("_private.py", PRIVATE),
    ):
        (pkg / file).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    yield module
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]


def test_static_models_available(shop: ModuleType) -> None:
    assert shop.User.__name__ == "User"
    assert shop.Product.__name__ == "Product"
    assert shop.get_model("User") is shop.User
    with pytest.raises(KeyError):
        shop.get_model("NonExistentModel")
    with pytest.raises(RegistryNotFoundError):
        shop.get_model("NonExistentModel")


def test_model_access_control(shop: ModuleType) -> None:
    assert shop.check_model_access("User", "create", "admin") is True
    assert shop.check_model_access("User", "delete", "admin") is True
    assert shop.check_model_access("User", "read", "user") is True
    assert shop.check_model_access("User", "delete", "user") is False
    assert shop.check_model_access("Ghost", "read", "admin") is False
    log = shop.gate.access_log
    assert [(r.model, r.operation, r.role, r.allowed) for r in log] == [
        ("User", "create", "admin", True),
        ("User", "delete", "admin", True),
        ("User", "read", "user", True),
        ("User", "delete", "user", False),
        ("Ghost", "read", "admin", False),
    ]
    assert shop.gate.access.get_accessible_models("user") == ["Product", "User", "UserProfile"]


def test_list_models(shop: ModuleType, registry: XRegistry) -> None:
    assert shop.list_models() == ["Product", "User", "UserProfile"]
    assert shop.list_models("static") == ["Product", "User", "UserProfile"]

    class Customer(BaseModel):
        id: int

    registry.models.register(Customer, source=ModelSource.DYNAMIC)
    assert shop.list_models("dynamic") == ["Customer"]
    assert shop.list_models() == ["Customer", "Product", "User", "UserProfile"]
    assert shop.get_model("Customer") is Customer
    with pytest.raises(ValueError):
        shop.list_models("imaginary")


def test_strict_mode_refuses_models_not_exported(shop: ModuleType, registry: XRegistry) -> None:
    user_module = sys.modules[shop.__name__ + ".user"]
    registry.models.register_static_model(user_module.Secret)
    with pytest.raises(RegistryPermissionError) as exc:
        shop.get_model("Secret")
    assert "does not export it" in str(exc.value)
    assert "Secret" not in shop.list_models()
    # Strict auto-discovery registers only exported models (all already registered here).
    assert shop.gate.auto_discover_models() == []
    assert "Draft" not in registry.models.models


def test_lenient_gate_discovers_every_public_module(shop: ModuleType, registry: XRegistry) -> None:
    gate = ModelGate(shop.__name__, registry, strict=False)
    found = gate.auto_discover_models()
    assert found == ["Draft", "Secret"]  # already registered ones skipped; _private skipped
    assert "Hidden" not in registry.models.models
    assert registry.models.get("Draft").metadata.ns_path == "ns.models.product.Draft"
    assert gate.get_model("Secret").__name__ == "Secret"
    assert gate.list_models("static") == ["Draft", "Product", "Secret", "User", "UserProfile"]


def test_gate_bad_input(registry: XRegistry) -> None:
    with pytest.raises(RegistryValidationError):
        ModelGate("", registry)
    gate = ModelGate("uuid", registry)  # a module, not a package
    with pytest.raises(RegistryValidationError):
        gate.auto_discover_models()
    with pytest.raises(ModuleNotFoundError):
        ModelGate("no_such_package_xyz", registry).exported_names()

    class A(BaseModel):
        x: int

    with pytest.raises(RegistryValidationError):
        gate.export(A, A, name="B")
    gate.export(A)
    assert gate.export(A) == ["A"]  # re-export of the same class (a module re-import) is fine
    assert "ModelGate('uuid'" in repr(gate)


def test_auto_discover_models_function(shop: ModuleType, registry: XRegistry) -> None:
    assert auto_discover_models(shop.__name__, registry, strict=False) == ["Draft", "Secret"]
    assert auto_discover_models(shop.__name__, registry, strict=False) == []  # idempotent
