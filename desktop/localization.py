"""How numbers and month names are written in the user's language: the one place that knows
the group separator, the decimal mark and the months' short names. Qt-free, so the services
(KPI values, reports, alert mails) and the headless commands write as the window does; the
app sets the style from the system's locale as it starts (views/formatting.use_system_locale).

Dates keep one pattern everywhere, day month year ('4 Dec 2026', '4. dec. 2026' in Danish):
it reads the same in every country, where 12/04/2026 does not."""

from __future__ import annotations

from dataclasses import dataclass, field

ENGLISH_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


@dataclass(frozen=True)
class NumberStyle:
    group: str = ","  # between thousands: 12,345
    decimal: str = "."  # before the fraction: 12.50
    months: tuple[str, ...] = field(default=ENGLISH_MONTHS)  # short names, January first
    day_suffix: str = ""  # after the day's number: '4. dec.' in Danish, German, Norwegian


_style = NumberStyle()


def use(style: NumberStyle) -> None:
    global _style
    _style = style


def style() -> NumberStyle:
    return _style


def number(value: float, decimals: int = 0) -> str:
    """12345.6 -> '12,345.60' (decimals=2) in English, '12.345,60' in Danish."""
    text = f"{value:,.{decimals}f}"
    if (_style.group, _style.decimal) == (",", "."):
        return text
    return text.translate({ord(","): "\x00", ord("."): _style.decimal}).replace(
        "\x00", _style.group
    )


def short_number(value: float) -> str:
    """A number without trailing zeros, as Python's 'g' writes it, with the decimal mark."""
    return f"{value:g}".replace(".", _style.decimal)


def month(number_of_month: int) -> str:
    return _style.months[number_of_month - 1]


def day_and_month(day: int, number_of_month: int) -> str:
    """'4 Dec'; '4. dec.' in Danish."""
    return f"{day}{_style.day_suffix} {month(number_of_month)}"
