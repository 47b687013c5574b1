"""How values read to a person, decided in one place for every view: dates and times (in the
user's time zone, one format: 4 Dec 2026, 4 Dec 2026 15:18, 1 – 4 Dec 2026), amounts with
their currency, percentages, counts, relative times. Qt's date editors take QT_DATE and
QT_DATE_TIME, the same formats."""

from __future__ import annotations

import datetime as dt
import math

from desktop.catalog import minor_unit_divisor
from desktop.localization import (  # noqa: F401 (views take them here)
    NumberStyle,
    day_and_month,
    month,
    number,
    short_number,
    use,
)

# Spans of days are written by the periods (services name them too); views take them here.
from desktop.services.kpi.periods import date_span, day_text  # noqa: F401


def relative_time(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'just now', '3 minutes ago', 'yesterday', ... for a naive UTC datetime."""
    if moment is None:
        return "never"
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    seconds = int((now - moment).total_seconds())
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return "1 minute ago" if minutes == 1 else f"{minutes} minutes ago"
    hours = round(seconds / 3600)
    if hours < 24:
        return "1 hour ago" if hours == 1 else f"{hours} hours ago"
    days = round(seconds / 86400)
    if days == 1:
        return "yesterday"
    return f"{days} days ago"


def count_text(n: int, singular: str, plural: str | None = None) -> str:
    return f"{number(n)} {singular if n == 1 else plural or singular + 's'}"


def money(amount: int | None, currency: str | None, *, compact: bool = False) -> str:
    """Minor units in the currency's format: 1250 usd -> '12.50 USD', 1500 jpy -> '1,500 JPY';
    `compact` where room is short: 2829580 usd -> '28.3k USD' (the currency always kept)."""
    if amount is None:
        return ""
    from desktop.services.kpi.dashboards import compact_number

    code = (currency or "").upper()
    divisor = minor_unit_divisor(currency)
    if compact and abs(amount / divisor) >= 1000:
        text = compact_number(amount / divisor)
    else:
        text = number(amount / divisor, 2) if divisor != 1 else number(amount)
    return f"{text} {code}".strip()


QT_DATE = "d MMM yyyy"
QT_DATE_TIME = "d MMM yyyy HH:mm"


def _local(seconds: int, zone) -> dt.datetime:
    if isinstance(zone, str):
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(zone)
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC).astimezone(zone)


def date(seconds: int | None, zone) -> str:
    """Unix seconds as a day in the user's zone (a ZoneInfo or its name): '4 Dec 2026'."""
    if seconds is None:
        return ""
    return day_text(_local(seconds, zone))


def timestamp(seconds: int | None, zone) -> str:
    """Unix seconds as a date and time in the user's zone: '4 Dec 2026 15:18'."""
    if seconds is None:
        return ""
    try:
        moment = _local(seconds, zone)
    except (OverflowError, OSError, ValueError):
        return str(seconds)
    return f"{day_text(moment)} {moment:%H:%M}"


def use_system_locale(locale=None) -> NumberStyle:
    """Numbers and month names as the user's locale writes them (a QLocale; Qt's default, the
    system's unless set). Qt's "C" locale, as on a machine with no language set, keeps
    English."""
    from PySide6.QtCore import QLocale

    locale = locale or QLocale()
    if locale.language() == QLocale.Language.C:
        style = NumberStyle()
    else:
        short = QLocale.FormatType.ShortFormat
        style = NumberStyle(
            group=locale.groupSeparator() or ",",
            decimal=locale.decimalPoint() or ".",
            months=tuple(locale.monthName(m, short) for m in range(1, 13)),
            day_suffix="." if "d." in locale.dateFormat(QLocale.FormatType.LongFormat) else "",
        )
    use(style)
    return style


def percent(value: float | None, decimals: int = 1) -> str:
    return "" if value is None else f"{number(value, decimals)} %"


def time_left(seconds: float | None, *, short: bool = False) -> str:
    """'less than a minute left', 'about 3 min left', 'about 1 h 20 min left'; '' unknown.
    `short` for a table cell: '< 1 min left', '3 min left', '1 h 20 min left'."""
    if seconds is None:
        return ""
    about = "" if short else "about "
    if seconds < 60:
        return "< 1 min left" if short else "less than a minute left"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{about}{minutes} min left"
    hours, minutes = divmod(5 * math.ceil(minutes / 5), 60)  # to five minutes past an hour
    return f"{about}{hours} h {minutes} min left" if minutes else f"{about}{hours} h left"


def share_text(fraction: float) -> str:
    """A share done, in whole percent, never rounded up to done: 0.427 -> '42 %'."""
    return f"{math.floor(fraction * 100):d} %"


def sync_progress(
    phase: str, rows: int, fraction: float | None, seconds_left: float | None, rate: float = 0
) -> str:
    """A sync under way: 'Importing history · 42 % · about 3 min left · 12,345 rows' when
    the share done is known, else 'Importing history · 12,345 rows · 1,234 a second'."""
    parts = [phase]
    if fraction is not None:
        parts.append(share_text(fraction))
        if fraction < 1 and seconds_left is not None:
            parts.append(time_left(seconds_left))
    parts.append(count_text(rows, "row"))
    if fraction is None and rate >= 1:
        parts.append(f"{number(rate)} a second")
    return " · ".join(parts)


def sync_progress_short(phase: str, fraction: float | None, seconds_left: float | None) -> str:
    """The same in a table cell: '42 % · 3 min left', '42 %', or the phase alone."""
    if fraction is None:
        return f"{phase}…"
    share = share_text(fraction)
    left = time_left(seconds_left, short=True) if fraction < 1 else ""
    return f"{share} · {left}" if left else share


def frequency_text(seconds: int, *, short: bool = False) -> str:
    """An update frequency: 'Every 5 minutes', 'Every hour', 'Once a day'; `short` for a
    table cell: 'every 5 min', 'every hour', 'every 6 h', 'once a day'."""
    if seconds < 3600:
        minutes = seconds // 60
        if minutes == 1:
            return "every minute" if short else "Every minute"
        return f"every {minutes} min" if short else f"Every {minutes} minutes"
    hours = seconds // 3600
    if hours == 1:
        text = "Every hour"
    elif hours == 24:
        text = "Once a day"
    else:
        text = f"Every {hours} h" if short else f"Every {hours} hours"
    return text.lower() if short else text


# Card brands as Stripe's Dashboard writes them (the API's codes: visa, amex, ...).
CARD_BRANDS = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos Australia",
    "interac": "Interac",
    "jcb": "JCB",
    "link": "Link",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
    "unknown": "Unknown",
}


def field_value_text(key: str | None, value, *, choice: bool = False) -> str:
    """A stored value of a field as Stripe's Dashboard writes it: a card brand by its name
    (visa -> Visa), a currency by its code (usd -> USD), and with `choice` (one of the API's
    values, such as a status) in words: requires_payment_method -> Requires payment method."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    name = key.rsplit(".", 1)[-1] if key else ""
    if name == "brand":
        return CARD_BRANDS.get(value, value)
    if name == "currency" or name.endswith("_currency"):
        return value.upper()
    if choice and value:
        return value.replace("_", " ").capitalize()
    return value
