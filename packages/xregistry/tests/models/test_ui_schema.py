"""UI schemas: widgets by name and type, selects, fieldsets, arrays, constraints."""

from __future__ import annotations

import datetime as dt
import decimal
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from xregistry.models import detect_widget, generate_ui_schema


class Status(Enum):
    ACTIVE = "active"
    ON_HOLD = "on_hold"


class Address(BaseModel):
    street: str
    city: str


class Node(BaseModel):
    name: str
    children: list[Node] = Field(default_factory=list)


class Profile(BaseModel):
    """A profile."""

    user_password: str
    api_token: SecretStr
    contact_email: str
    homepage_url: str | None = None
    description: str = Field(default="", max_length=500)
    active: bool = True
    age: Annotated[int, Field(ge=0, le=150)]
    balance: decimal.Decimal
    born: dt.date
    seen_at: dt.datetime
    status: Status = Status.ACTIVE
    tier: Literal["free", "pro"] = "free"
    address: Address
    previous: list[Address] = Field(default_factory=list)
    nicknames: list[str] = Field(default_factory=list)
    extra: dict[str, int] = Field(default_factory=dict)
    name: str = Field(title="Display name", description="Shown to others")


def test_widgets_by_name_and_type() -> None:
    ui = generate_ui_schema(Profile)
    widgets = {name: f["widget"] for name, f in ui["fields"].items()}
    assert widgets == {
        "user_password": "password",
        "api_token": "password",
        "contact_email": "email",
        "homepage_url": "url",
        "description": "textarea",
        "active": "toggle",
        "age": "number",
        "balance": "number",
        "born": "date",
        "seen_at": "datetime",
        "status": "select",
        "tier": "select",
        "address": "fieldset",
        "previous": "array",
        "nicknames": "array",
        "extra": "json",
        "name": "text",
    }
    assert ui["title"] == "Profile"
    assert ui["description"] == "A profile."
    assert ui["order"][0] == "user_password"


def test_selects_fieldsets_arrays_and_details() -> None:
    fields = generate_ui_schema(Profile)["fields"]
    assert fields["status"]["options"] == [
        {"value": "active", "label": "Active"},
        {"value": "on_hold", "label": "On Hold"},
    ]
    assert fields["status"]["default"] == "active"
    assert [o["value"] for o in fields["tier"]["options"]] == ["free", "pro"]
    assert set(fields["address"]["fields"]) == {"street", "city"}
    assert fields["previous"]["items"]["widget"] == "fieldset"
    assert fields["nicknames"]["items"]["widget"] == "text"
    assert fields["age"]["constraints"] == {"ge": 0, "le": 150}
    assert fields["description"]["constraints"] == {"max_length": 500}
    assert fields["homepage_url"]["nullable"] is True
    assert fields["homepage_url"]["required"] is False
    assert fields["address"]["required"] is True
    assert fields["name"]["label"] == "Display name"
    assert fields["name"]["description"] == "Shown to others"
    assert fields["contact_email"]["label"] == "Contact Email"


def test_self_referencing_models_do_not_recurse_forever() -> None:
    fields = generate_ui_schema(Node)["fields"]
    assert fields["children"]["items"]["fields"] == {"$ref": "Node"}


def test_detect_widget_directly() -> None:
    assert detect_widget("notes", str) == "textarea"
    assert detect_widget("count", int | None) == "number"
    assert detect_widget("link", str) == "url"
    assert detect_widget("title", str) == "text"
