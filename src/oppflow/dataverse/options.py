"""Option sets: oppflow's stored codes as Dataverse's integer values, labelled in 1033 and 1036."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    value: int
    code: str
    english: str
    french: str


@dataclass(frozen=True)
class OptionSet:
    name: str
    options: tuple[Option, ...]

    def value_of(self, code: str | None) -> int | None:
        for option in self.options:
            if option.code == code:
                return option.value
        return None

    def code_of(self, value: object) -> str | None:
        for option in self.options:
            if option.value == value:
                return option.code
        return None


def _set(name: str, *options: tuple[int, str, str, str]) -> OptionSet:
    return OptionSet(name, tuple(Option(*option) for option in options))


OPPORTUNITY_STATE = _set(
    "opportunity_statecode", (0, "open", "Open", "Ouvert"), (1, "won", "Won", "Gagné"),
    (2, "lost", "Lost", "Perdu"),
)  # fmt: skip
OPPORTUNITY_STATUS = _set(
    "opportunity_statuscode",
    (1, "in_progress", "In Progress", "En cours"),
    (2, "on_hold", "On Hold", "En attente"),
    (3, "won", "Won", "Gagné"),
    (4, "canceled", "Canceled", "Annulé"),
    (5, "out_sold", "Out-Sold", "Vendu par la concurrence"),
)
RATING = _set(
    "opportunityratingcode", (1, "hot", "Hot", "Chaud"), (2, "warm", "Warm", "Tiède"),
    (3, "cold", "Cold", "Froid"),
)  # fmt: skip
FORECAST = _set(
    "msdyn_forecastcategory",
    (100000001, "pipeline", "Pipeline", "Pipeline"),
    (100000002, "best_case", "Best case", "Meilleur cas"),
    (100000003, "committed", "Committed", "Engagé"),
    (100000004, "omitted", "Omitted", "Omis"),
    (100000005, "won", "Won", "Gagné"),
    (100000006, "lost", "Lost", "Perdu"),
)
TIMEFRAME = _set(
    "purchasetimeframe",
    (0, "immediate", "Immediate", "Immédiat"),
    (1, "this_quarter", "This Quarter", "Ce trimestre"),
    (2, "next_quarter", "Next Quarter", "Trimestre suivant"),
    (3, "this_year", "This Year", "Cette année"),
    (4, "unknown", "Unknown", "Inconnu"),
)
PURCHASE_PROCESS = _set(
    "purchaseprocess",
    (0, "individual", "Individual", "Individuel"),
    (1, "committee", "Committee", "Comité"),
    (2, "unknown", "Unknown", "Inconnu"),
)
LEAD_STATE = _set(
    "lead_statecode", (0, "open", "Open", "Ouvert"), (1, "qualified", "Qualified", "Qualifié"),
    (2, "disqualified", "Disqualified", "Disqualifié"),
)  # fmt: skip
LEAD_STATUS = _set(
    "lead_statuscode",
    (1, "new", "New", "Nouveau"),
    (2, "contacted", "Contacted", "Contacté"),
    (3, "qualified", "Qualified", "Qualifié"),
    (4, "lost", "Lost", "Perdu"),
    (5, "cannot_contact", "Cannot Contact", "Impossible à contacter"),
    (6, "no_longer_interested", "No Longer Interested", "N'est plus intéressé"),
    (7, "canceled", "Canceled", "Annulé"),
)
LEAD_SOURCE = _set(
    "leadsourcecode",
    (1, "advertisement", "Advertisement", "Publicité"),
    (2, "employee_referral", "Employee Referral", "Recommandation d'un employé"),
    (3, "external_referral", "External Referral", "Recommandation externe"),
    (4, "partner", "Partner", "Partenaire"),
    (5, "public_relations", "Public Relations", "Relations publiques"),
    (6, "seminar", "Seminar", "Séminaire"),
    (7, "trade_show", "Trade Show", "Salon professionnel"),
    (8, "web", "Web", "Web"),
    (9, "word_of_mouth", "Word of Mouth", "Bouche à oreille"),
    (10, "other", "Other", "Autre"),
)
CLOSE_STATE = _set(
    "opportunityclose_statecode", (1, "completed", "Completed", "Terminé"),
    (2, "canceled", "Canceled", "Annulé"),
)  # fmt: skip
