"""Every model, imported here so that Alembic and the metadata see them all."""

from oppflow.models.analytics import (
    ClosedDeal,
    ForecastTotal,
    OpportunityChange,
    OpportunitySpan,
    PhaseMove,
    PipelineTotal,
    StageStint,
    TotalDelta,
)
from oppflow.models.base import Base
from oppflow.models.catalog import (
    PriceList,
    PriceListItem,
    Product,
    ProductFamily,
    Unit,
    UnitGroup,
)
from oppflow.models.customers import Account, Contact
from oppflow.models.events import (
    Event,
    EventCursor,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from oppflow.models.import_runs import ImportRun
from oppflow.models.imports import ImportJob, ImportMapping
from oppflow.models.lead import Lead
from oppflow.models.opportunity import Competitor, Opportunity, OpportunityClose
from oppflow.models.organization import ApiToken, BusinessUnit, User, UserRole
from oppflow.models.process import Process, ProcessInstance, ProcessVersion, StageHistory
from oppflow.models.quotes import OpportunityLine, Quote, QuoteLine
from oppflow.models.related import (
    Note,
    OpportunityCompetitor,
    OpportunityFile,
    SalesTeamMember,
    Stakeholder,
)
from oppflow.models.security import (
    AuditEntry,
    RecordShare,
    Role,
    RolePrivilege,
    SecurityEpoch,
    Team,
    TeamMember,
    TeamRole,
)
from oppflow.models.views import SavedView

__all__ = [
    "Account",
    "ApiToken",
    "AuditEntry",
    "Base",
    "BusinessUnit",
    "ClosedDeal",
    "Competitor",
    "Contact",
    "Event",
    "EventCursor",
    "ForecastTotal",
    "ImportJob",
    "ImportMapping",
    "ImportRun",
    "Lead",
    "Note",
    "Opportunity",
    "OpportunityChange",
    "OpportunityClose",
    "OpportunityCompetitor",
    "OpportunityFile",
    "OpportunityLine",
    "OpportunitySpan",
    "PhaseMove",
    "PipelineTotal",
    "PriceList",
    "PriceListItem",
    "Process",
    "ProcessInstance",
    "ProcessVersion",
    "Product",
    "ProductFamily",
    "Quote",
    "QuoteLine",
    "RecordShare",
    "Role",
    "RolePrivilege",
    "SalesTeamMember",
    "SavedView",
    "SecurityEpoch",
    "StageHistory",
    "StageStint",
    "Stakeholder",
    "Team",
    "TeamMember",
    "TeamRole",
    "TotalDelta",
    "Unit",
    "UnitGroup",
    "User",
    "UserRole",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
