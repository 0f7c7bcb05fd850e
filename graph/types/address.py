"""CustomerAddress: personal numbers behind the pii:read scope."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from graph import ids
from graph.auth import CanReadPii, CanReadRaw
from graph.types.common import Node, Provider
from providers import model
from providers.redact import scrub


@strawberry.type
class CustomerAddress(Node):
    provider: Provider
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    line: str | None
    postcode: str | None
    city: str | None = strawberry.field(
        description="As the provider gives it: Akinon answers the id of its city record."
    )
    district: str | None = strawberry.field(
        description="As the provider gives it: Akinon answers the id of its district record."
    )
    township: str | None = strawberry.field(
        description="As the provider gives it: Akinon answers the id of its township record."
    )
    country: str | None = strawberry.field(
        description="As the provider gives it: Akinon answers the id of its country record, "
        "Front Payment a two-letter code."
    )
    company_name: str | None
    tax_office: str | None
    is_active: bool | None
    notes: str | None
    _model: strawberry.Private[model.Address]

    @classmethod
    def from_model(cls, m: model.Address) -> CustomerAddress:
        return cls(
            id=strawberry.ID(ids.encode("CustomerAddress", m.provider, m.key)),
            provider=m.provider,
            first_name=m.first_name,
            last_name=m.last_name,
            email=m.email,
            phone=m.phone,
            line=m.line,
            postcode=m.postcode,
            city=m.city,
            district=m.district,
            township=m.township,
            country=m.country,
            company_name=m.company_name,
            tax_office=m.tax_office,
            is_active=m.is_active,
            notes=m.notes,
            _model=m,
        )

    @classmethod
    def maybe(cls, m: model.Address | None) -> CustomerAddress | None:
        return None if m is None else cls.from_model(m)

    @strawberry.field(permission_classes=[CanReadPii])
    def tax_number(self) -> str | None:
        return self._model.tax_number

    @strawberry.field(permission_classes=[CanReadPii])
    def identity_number(self) -> str | None:
        return self._model.identity_number

    @strawberry.field(permission_classes=[CanReadRaw])
    def raw(self) -> JSON | None:
        return JSON(scrub(self._model.raw))
