"""The span an impact figure covers: a calendar year or one of its quarters, split into
the buckets its charts show (quarters of a year, months of a quarter)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from hub import i18n
from hub.clock import utcnow
from hub.i18n import gettext as _

FIRST_YEAR = 2000


@dataclass(frozen=True)
class Bucket:
    number: int  # 1-based, in the period
    label: str
    start: date
    end: date  # exclusive


@dataclass(frozen=True)
class Period:
    year: int
    quarter: int = 0  # 0: the whole year

    @classmethod
    def parse(cls, year: str, quarter: str = "") -> "Period | None":
        """A period from a query string, or None when it names no period the hub keeps."""
        if not (year.isascii() and year.isdigit() and len(year) == 4):
            return None
        chosen = int(year)
        if not FIRST_YEAR <= chosen <= utcnow().year:
            return None
        quarter = quarter.strip()
        if quarter in ("", "0"):
            return cls(chosen)
        if quarter in ("1", "2", "3", "4"):
            return cls(chosen, int(quarter))
        return None

    @classmethod
    def current(cls) -> "Period":
        return cls(utcnow().year)

    @property
    def first_day(self) -> date:
        return date(self.year, 1 if not self.quarter else 3 * self.quarter - 2, 1)

    @property
    def end_day(self) -> date:
        """The day after the period."""
        if self.quarter in (0, 4):
            return date(self.year + 1, 1, 1)
        return date(self.year, 3 * self.quarter + 1, 1)

    @property
    def start(self) -> datetime:
        return at_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        return at_midnight(self.end_day)

    @property
    def label(self) -> str:
        """As the viewer's locale writes it: 'Q3 2026' or '2026年第3季度', '2026' or '2026年'."""
        return i18n.skeleton(self.first_day, "yQQQ" if self.quarter else "y")

    @property
    def slug(self) -> str:
        return f"{self.year}-q{self.quarter}" if self.quarter else str(self.year)

    @property
    def query(self) -> dict[str, str]:
        return {"year": str(self.year), "quarter": str(self.quarter) if self.quarter else ""}

    @property
    def is_running(self) -> bool:
        return self.end > utcnow()

    def buckets(self) -> list[Bucket]:
        """Quarters of a year, months of a quarter."""
        if not self.quarter:
            return [
                Bucket(
                    q,
                    _("Q%(quarter)s", quarter=q),
                    Period(self.year, q).first_day,
                    Period(self.year, q).end_day,
                )
                for q in (1, 2, 3, 4)
            ]
        first = 3 * self.quarter - 2
        return [
            Bucket(
                n + 1,
                i18n.skeleton(date(self.year, month, 1), "MMM"),
                date(self.year, month, 1),
                date(self.year + 1, 1, 1) if month == 12 else date(self.year, month + 1, 1),
            )
            for n, month in enumerate(range(first, first + 3))
        ]

    def bucket(self, number: int) -> Bucket | None:
        return next((b for b in self.buckets() if b.number == number), None)


def at_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
