"""The shopping partners that credit photographed receipts."""

from __future__ import annotations

import strawberry

from loyalty.partner_vocabulary import PartnerCapability
from resolvers.partners import directory_of
from schema.context import Info
from schema.retro_credit.types import PhotoCreditPartner


@strawberry.type
class RetroCreditQueries:
    @strawberry.field(
        description="Shopping partners that credit miles for a photographed receipt (photo credit); send the "
        "picture to POST /photo-credit/receipts?partner=CODE. No sign-in needed."
    )
    async def photo_credit_partners(self, info: Info) -> list[PhotoCreditPartner]:
        partners = await directory_of(info.context.partners).partners_with(PartnerCapability.PHOTO_CREDIT)
        return [PhotoCreditPartner(code=partner.code, name=partner.name) for partner in partners]
