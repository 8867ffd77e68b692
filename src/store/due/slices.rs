//! The agenda a slice of due days at a time: where the next slice can
//! start, and a day's annual reports a page of licences at a time, so that
//! memory follows what is due in a few days, not the whole agenda.

use chrono::{Datelike, Days, NaiveDate};
use rusqlite::params;

use super::{
    Candidates, DueWindow, allocated_from, changed_from, refuse_unreadable, renewal_expiry_from,
};
use crate::domain::obligation::{
    Obligation, ObligationKind, activation_due, annual_report_window, change_filing_due,
    first_report_year_chased, last_report_year_due, renewal_due,
};
use crate::domain::policy::Policy;
use crate::store::renewal_mark::{renewal_mark_applied, renewal_mark_none};
use crate::store::{Result, Store};

/// The earliest value on or after `?1` in each candidate query's index:
/// where the next slice of the agenda can start (see
/// [`Store::next_due_day`]). Each is one step into an index.
pub(super) const NEXT_RENEWAL: &str = concat!(
    "SELECT min(last_day) FROM licence WHERE last_day >= ?1 AND ended_on IS NULL AND renewal_mark = ",
    renewal_mark_none!()
);
pub(super) const NEXT_CHANGE: &str =
    "SELECT min(changed_on) FROM company_change WHERE filed_on IS NULL AND changed_on >= ?1";
pub(super) const NEXT_AWAITING: &str =
    "SELECT min(allocated) FROM number WHERE activated_on IS NULL AND allocated >= ?1";
pub(super) const NEXT_ENDING: &str = concat!(
    "SELECT min(last_day) FROM licence WHERE last_day >= ?1 AND (ended_on IS NOT NULL OR renewal_mark <> ",
    renewal_mark_applied!(),
    ")"
);
pub(super) const NEXT_RENEWING: &str = concat!(
    "SELECT min(expires) FROM licence WHERE expires >= ?1 AND ended_on IS NULL AND renewal_mark = ",
    renewal_mark_applied!()
);

/// A page of the licences that may owe one business year's report, in
/// licence-number order after `?2`: where a day's reports come in pages
/// (see [`DueSlices`]). It reads the unique index on `number` in order
/// (`+` keeps the planner off the `reported_through` index, which would
/// sort every licence owing for each page): a range that ends after the
/// page's last row owing, so as many rows as lie between the first and the
/// last licence owing, over all the pages of a day together.
pub(super) const REPORTS_OWED_PAGE: &str = "SELECT id, number FROM licence
     WHERE number > ?2 AND +reported_through < ?1 ORDER BY number LIMIT ?3";
/// Up to `?2` of the licences that may owe one business year's report: are
/// there more than a page?
pub(super) const REPORTS_OWED_SOME: &str =
    "SELECT id FROM licence WHERE reported_through < ?1 LIMIT ?2";

/// How many licences one slice of [`Store::due_slices`] reads for a day's
/// annual reports when more than this many may owe them: every licence's
/// report falls due on the same 31 March, so in a large register that one
/// day would hold them all.
const REPORT_PAGE: usize = 1_000;

/// How many days of due dates one slice of [`Store::due_slices`] covers:
/// four days hold a couple of thousand obligations of a 1M-licence
/// register (one day's renewals are a 1,825th of five years'), about as
/// many as a page of reports ([`REPORT_PAGE`]); the numbers read twice (an
/// activation's candidates take three days more, where months clamp) are
/// the price.
const SLICE_DAYS: u64 = 4;

/// Where the next slice of [`Store::due_slices`] starts.
enum Next {
    /// At the first due day on or after this one.
    Days(NaiveDate),
    /// With the reports due on `day` (for business `year`) of the licences
    /// numbered after `after`.
    Reports {
        day: NaiveDate,
        year: i32,
        after: String,
    },
}

/// The slices of [`Store::due_slices`]: each non-empty, soonest first.
/// A slice is up to [`SLICE_DAYS`] due days; but a day on which more than
/// a page of licences may owe their annual report is a slice of its own,
/// read in pages of licences by number: within one due day and kind the
/// order is the obligation key's, and an annual report's key is its kind,
/// its licence number and the year, so (licence numbers being prefix-free:
/// each ends in `-` and eight digits) licence-number order. Its renewals
/// come with the first page, its later kinds after the last.
pub struct DueSlices<'s> {
    store: &'s Store,
    until: NaiveDate,
    today: NaiveDate,
    policy: &'s Policy,
    report_page: usize,
    /// None once done (or failed).
    next: Option<Next>,
    /// On a day read in pages: its obligations of the kinds after annual
    /// reports, given with the last page.
    after_reports: Vec<Obligation>,
}

impl Iterator for DueSlices<'_> {
    type Item = Result<Vec<Obligation>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let read = match self.next.take()? {
                Next::Days(from) => self.days(from),
                Next::Reports { day, year, after } => self.reports(day, year, &after),
            };
            match read {
                Err(error) => return Some(Err(error)),
                Ok((obligations, next)) => {
                    self.next = next;
                    if !obligations.is_empty() {
                        return Some(Ok(obligations));
                    }
                }
            }
        }
    }
}

/// The day of the annual reports that fall due from `first` to `last`, if
/// any are chased on `today`, and their business year.
fn report_day_within(
    first: NaiveDate,
    last: NaiveDate,
    today: NaiveDate,
    policy: &Policy,
) -> Option<(NaiveDate, i32)> {
    let year = last_report_year_due(last).min(today.year());
    let (_, due) = annual_report_window(year);
    (year >= first_report_year_chased(today, policy) && due >= first).then_some((due, year))
}

impl DueSlices<'_> {
    /// Pages of `size` licences for a day's reports (the tests' small pages
    /// put a page boundary inside a small register).
    #[cfg(test)]
    pub(crate) fn report_pages_of(mut self, size: usize) -> Self {
        self.report_page = size.max(1);
        self
    }

    /// The obligations due from the first day on or after `from` that can
    /// have one, for [`SLICE_DAYS`] days (not past `until`), soonest first,
    /// or up to a day whose reports come in pages; and where the next slice
    /// starts (none after `until`).
    fn days(&mut self, from: NaiveDate) -> Result<(Vec<Obligation>, Option<Next>)> {
        let (store, until, today, policy) = (self.store, self.until, self.today, self.policy);
        let Some(first) = store.next_due_day(from, until, today, policy)? else {
            return Ok((Vec::new(), None));
        };
        let mut last = first
            .checked_add_days(Days::new(SLICE_DAYS - 1))
            .unwrap_or(until)
            .min(until);
        if let Some((day, year)) = report_day_within(first, last, today, policy) {
            let some: Vec<i64> = store
                .conn()
                .prepare_cached(REPORTS_OWED_SOME)?
                .query_map(params![year, self.report_page as i64 + 1], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if some.len() > self.report_page {
                if day > first {
                    last = day - Days::new(1);
                } else {
                    return self.report_day(day, year);
                }
            }
        }
        let window = DueWindow::uniform(last);
        let candidates = store.candidates_between(first, &window, today, policy)?;
        let mut obligations =
            refuse_unreadable(store.due_of(&candidates, &window, today, policy)?)?;
        // A licence found for this slice may also owe something earlier,
        // which an earlier slice has given.
        obligations.retain(|o| o.due >= first);
        Ok((
            obligations,
            (last < until).then(|| Next::Days(last + Days::new(1))),
        ))
    }

    /// The first slice of a day whose reports come in pages: its renewals
    /// and the first page of reports; the kinds after reports are kept for
    /// the last page. Every kind but reports is read as for any slice, with
    /// the reports' day set one day short so that none is read.
    fn report_day(&mut self, day: NaiveDate, year: i32) -> Result<(Vec<Obligation>, Option<Next>)> {
        let window = DueWindow {
            annual_report: day - Days::new(1),
            ..DueWindow::uniform(day)
        };
        let candidates = self
            .store
            .candidates_between(day, &window, self.today, self.policy)?;
        let mut obligations =
            refuse_unreadable(
                self.store
                    .due_of(&candidates, &window, self.today, self.policy)?,
            )?;
        obligations.retain(|o| o.due == day);
        let reports_at = obligations.partition_point(|o| o.kind < ObligationKind::AnnualReport);
        self.after_reports = obligations.split_off(reports_at);
        let (reports, next) = self.reports(day, year, "")?;
        obligations.extend(reports);
        Ok((obligations, next))
    }

    /// The reports due on `day` of the next page of licences numbered after
    /// `after`; after the last page, the day's later kinds as well.
    fn reports(
        &mut self,
        day: NaiveDate,
        year: i32,
        after: &str,
    ) -> Result<(Vec<Obligation>, Option<Next>)> {
        let page: Vec<(i64, String)> = self
            .store
            .conn()
            .prepare_cached(REPORTS_OWED_PAGE)?
            .query_map(params![year, after, self.report_page as i64], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let full = page.len() == self.report_page;
        let last_number = page.last().map(|(_, number)| number.clone());
        // `due_of` finds a licence among them by binary search.
        let mut licences: Vec<i64> = page.into_iter().map(|(id, _)| id).collect();
        licences.sort_unstable();
        let candidates = Candidates {
            licences,
            ..Candidates::default()
        };
        let window = DueWindow::uniform(day);
        let mut obligations =
            refuse_unreadable(
                self.store
                    .due_of(&candidates, &window, self.today, self.policy)?,
            )?;
        obligations.retain(|o| o.due == day && o.kind == ObligationKind::AnnualReport);
        match last_number.filter(|_| full) {
            Some(after) => Ok((obligations, Some(Next::Reports { day, year, after }))),
            None => {
                obligations.append(&mut self.after_reports);
                Ok((
                    obligations,
                    (day < self.until).then(|| Next::Days(day + Days::new(1))),
                ))
            }
        }
    }
}

impl Store {
    /// What [`Store::obligations_due_by`] returns, in the same order, a
    /// slice of due days at a time ([`SLICE_DAYS`] at most), a day's annual
    /// reports a page of licences at a time ([`REPORT_PAGE`]): memory
    /// follows what is due in a few days, not the whole agenda, nor the
    /// register on 31 March. Each slice reads its own candidates, ranges of
    /// the same indexes bounded below by its first day; a stretch of days
    /// with nothing due is stepped over.
    pub fn due_slices<'s>(
        &'s self,
        until: NaiveDate,
        today: NaiveDate,
        policy: &'s Policy,
    ) -> DueSlices<'s> {
        DueSlices {
            store: self,
            until,
            today,
            policy,
            report_page: REPORT_PAGE,
            next: Some(Next::Days(NaiveDate::MIN)),
            after_reports: Vec::new(),
        }
    }

    /// A day no later than the first due day on or after `from` of any
    /// open obligation, from the start of each candidate query's index
    /// range (each due day a rule of the domain's, applied to the index's
    /// earliest value, which the rule never moves earlier); none if that
    /// is after `until`.
    fn next_due_day(
        &self,
        from: NaiveDate,
        until: NaiveDate,
        today: NaiveDate,
        policy: &Policy,
    ) -> Result<Option<NaiveDate>> {
        let earliest = |sql: &str, at: NaiveDate| -> Result<Option<NaiveDate>> {
            Ok(self
                .conn()
                .prepare_cached(sql)?
                .query_row([at], |row| row.get(0))?)
        };
        let mut days = Vec::new();
        if let Some(expires) = earliest(NEXT_RENEWAL, renewal_expiry_from(from, policy))? {
            days.push(renewal_due(expires, policy));
        }
        let mut year = first_report_year_chased(today, policy).max(from.year() - 2);
        while year <= today.year() {
            let (_, due) = annual_report_window(year);
            if due >= from {
                days.push(due);
                break;
            }
            year += 1;
        }
        if let Some(changed) = earliest(NEXT_CHANGE, changed_from(from, policy))? {
            days.push(change_filing_due(changed, policy));
        }
        if let Some(allocated) = earliest(NEXT_AWAITING, allocated_from(from, policy))? {
            days.push(activation_due(allocated, policy).max(from));
        }
        if let Some(last_day) = earliest(NEXT_ENDING, from)? {
            days.push(last_day);
        }
        if let Some(expires) = earliest(NEXT_RENEWING, from)?
            && expires < today
        {
            days.push(expires);
        }
        Ok(days.into_iter().min().filter(|day| *day <= until))
    }
}
