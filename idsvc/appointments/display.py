"""The waiting-room display: the labels last called and their desks, in every language
the centre serves in that has a page catalog. Public, so it shows nothing about anyone."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from idsvc.appointments import schedule as schedules
from idsvc.appointments.context import Context
from idsvc.appointments.ticket_model import QueueTicket
from idsvc.centres import service as centres
from idsvc.web import i18n

SHOWN = 8  # the most recent calls on the screen


@dataclass(frozen=True)
class Called:
    label: str
    desk: str


@dataclass(frozen=True)
class Words:
    """The display's fixed text in one page language."""

    lang: i18n.UiLanguage
    now_serving: str
    ticket: str
    desk: str
    nobody: str


@dataclass(frozen=True)
class Board:
    centre_name: str
    calls: list[Called]
    words: list[Words]  # the first one is the page's own language


def _words(code: str) -> Words:
    gettext = i18n.translations(code).gettext
    return Words(lang=i18n.LANGUAGES[code], now_serving=gettext("Now serving"),
                 ticket=gettext("Ticket"), desk=gettext("Desk"),
                 nobody=gettext("Nobody has been called yet."))


def page_languages(schedule_languages: list[str]) -> list[str]:
    """The page catalogs of a centre's ISO 639-3 languages, in the schedule's order;
    English when none has one (e.g. a centre serving only in ASL)."""
    by_iso = {lang.iso639_3: lang.code for lang in i18n.LANGUAGES.values()}
    codes = list(dict.fromkeys(by_iso[c] for c in schedule_languages if c in by_iso))
    return codes or [i18n.DEFAULT]


def board(session: Session, ctx: Context, centre_id: int) -> Board:
    centre = centres.get_centre(session, centre_id)
    schedule = schedules.find_schedule(session, centre_id)
    languages = page_languages(schedules.languages_of(schedule) if schedule else [])
    today = (QueueTicket.centre_id == centre_id) & (QueueTicket.day == ctx.today)
    called = session.exec(select(QueueTicket).where(today, QueueTicket.state == "called")
                          .order_by(col(QueueTicket.called_at).desc()).limit(SHOWN))
    return Board(centre_name=centre.name,
                 calls=[Called(t.label, t.desk or "") for t in called],
                 words=[_words(code) for code in languages])
