//! The rules of README.md's table and `config.example.toml`'s schedules
//! written out again, independently of
//! `licwatch::plan` and `licwatch::domain::obligation`: which obligations are
//! open on a day, their reminder stages, the working day each is sent on, and
//! so which (obligation, stage) the daemon must send on which day when it
//! runs every day. Only the calendar *data* is shared (data/holidays-cn.toml,
//! read here by a parser of its own).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::world::World;

/// Working days: weekends off, State Council days off and make-up working
/// days from the holiday files.
pub struct Calendar {
    off: HashSet<NaiveDate>,
    on: HashSet<NaiveDate>,
    pub years: BTreeSet<i32>,
}

impl Calendar {
    /// Reads `[[day]]` tables (`date = "YYYY-MM-DD"`, `off = true|false`);
    /// everything else in the files is ignored.
    pub fn parse(files: &[&str]) -> Calendar {
        let mut calendar = Calendar {
            off: HashSet::new(),
            on: HashSet::new(),
            years: BTreeSet::new(),
        };
        for text in files {
            let mut date: Option<NaiveDate> = None;
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or_default().trim();
                if let Some(value) = line.strip_prefix("date") {
                    let value = value
                        .trim_start_matches([' ', '='])
                        .trim()
                        .trim_matches('"');
                    date = Some(
                        NaiveDate::parse_from_str(value, "%Y-%m-%d")
                            .expect("dates in the holiday files parse"),
                    );
                } else if let Some(value) = line.strip_prefix("off") {
                    let day = date.take().expect("off follows date in each [[day]]");
                    calendar.years.insert(day.year());
                    if value.contains("true") {
                        calendar.off.insert(day);
                    } else {
                        calendar.on.insert(day);
                    }
                }
            }
        }
        calendar
    }

    pub fn working(&self, day: NaiveDate) -> bool {
        if self.off.contains(&day) {
            return false;
        }
        if self.on.contains(&day) {
            return true;
        }
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The day itself if it is a working day, else the closest one before.
    pub fn previous_working(&self, mut day: NaiveDate) -> NaiveDate {
        while !self.working(day) {
            day = day.pred_opt().expect("far from chrono's limits");
        }
        day
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Renewal,
    Report,
    Change,
    Activation,
    Outlives,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Renewal => "renewal",
            Kind::Report => "annual report",
            Kind::Change => "change filing",
            Kind::Activation => "number activation",
            Kind::Outlives => "number outlives licence",
        }
    }
}

/// An open obligation as README.md's table of rules has it.
#[derive(Debug, Clone)]
pub struct Ob {
    /// The obligation's stable name, in the format the outbox and the
    /// messages use (ARCHITECTURE.md, `obligation::keys`).
    pub key: String,
    pub kind: Kind,
    pub due: NaiveDate,
    pub opens: NaiveDate,
    /// A renewal's last reminder is the expiry day itself.
    pub ends: Option<NaiveDate>,
}

pub fn days(day: NaiveDate, offset: i64) -> NaiveDate {
    if offset >= 0 {
        day + Days::new(offset as u64)
    } else {
        day - Days::new(offset.unsigned_abs())
    }
}

/// Calendar months later; a day the target month lacks becomes its last.
pub fn add_months(day: NaiveDate, months: u32) -> NaiveDate {
    let index = day.year() * 12 + day.month0() as i32 + months as i32;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    (1..=day.day())
        .rev()
        .find_map(|d| NaiveDate::from_ymd_opt(year, month, d))
        .expect("every month has a 28th")
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a real day")
}

impl Ob {
    /// Renewal: apply 90 days before expiry; reminders from 210 days before.
    pub fn renewal(licence: &str, expires: NaiveDate) -> Ob {
        Ob {
            key: format!("renewal/{licence}/{expires}"),
            kind: Kind::Renewal,
            due: days(expires, -90),
            opens: days(expires, -210),
            ends: Some(expires),
        }
    }

    /// The annual report on business year `year`: 1 January – 31 March of
    /// the next year.
    pub fn report(licence: &str, year: i32) -> Ob {
        Ob {
            key: format!("annual_report/{licence}/{year}"),
            kind: Kind::Report,
            due: ymd(year + 1, 3, 31),
            opens: ymd(year + 1, 1, 1),
            ends: None,
        }
    }

    /// A change is filed within 30 days.
    pub fn change(licence: &str, id: i64, changed: NaiveDate) -> Ob {
        Ob {
            key: format!("change_filing/{licence}/{id}"),
            kind: Kind::Change,
            due: days(changed, 30),
            opens: changed,
            ends: None,
        }
    }

    /// A number is put into service within 6 months of allocation.
    pub fn activation(licence: &str, number: &str, allocated: NaiveDate) -> Ob {
        Ob {
            key: format!("number_activation/{licence}/{number}/{allocated}"),
            kind: Kind::Activation,
            due: add_months(allocated, 6),
            opens: allocated,
            ends: None,
        }
    }

    /// A number still held when its licence ends: on the day, then daily.
    pub fn outlives(licence: &str, number: &str, last_day: NaiveDate) -> Ob {
        Ob {
            key: format!("number_outlives_licence/{licence}/{number}/{last_day}"),
            kind: Kind::Outlives,
            due: last_day,
            opens: last_day,
            ends: None,
        }
    }

    /// Every stage up to `horizon` (nominal day), in order: the table's
    /// stages and the overdue repeats, kept between `opens` and `ends`, each
    /// moved to the previous working day.
    pub fn stages(&self, calendar: &Calendar, horizon: NaiveDate) -> Vec<Stage> {
        let due = self.due;
        let (offsets, repeat): (&[i64], i64) = match self.kind {
            Kind::Renewal => (&[-120, -90, -60, -30, -14, -7, -1, 0], 7),
            Kind::Report => (&[-14, -7, -3, -1, 0], 7),
            Kind::Change => (&[-30, -14, -7, -3, -1, 0], 3),
            Kind::Activation => (&[-60, -30, -14, -7, -1, 0], 7),
            Kind::Outlives => (&[0], 1),
        };
        let mut nominal: BTreeSet<NaiveDate> = offsets.iter().map(|o| days(due, *o)).collect();
        if self.kind == Kind::Report {
            nominal.insert(ymd(due.year(), 1, 1));
            nominal.insert(ymd(due.year(), 3, 1));
        }
        let mut next = days(due, repeat);
        while next <= horizon {
            nominal.insert(next);
            next = days(next, repeat);
        }
        nominal.extend(self.ends);
        nominal
            .into_iter()
            .filter(|day| *day >= self.opens && self.ends.is_none_or(|ends| *day <= ends))
            .map(|day| Stage {
                offset: (day - due).num_days(),
                nominal: day,
                send_on: calendar.previous_working(day),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    pub offset: i64,
    pub nominal: NaiveDate,
    pub send_on: NaiveDate,
}

/// One (obligation, stage) the daemon must send, and the day it must go.
#[derive(Debug, Clone)]
pub struct Expected {
    pub key: String,
    pub kind: Kind,
    pub stage: Stage,
    /// The first day the daemon runs on which this is the newest stage due:
    /// `stage.send_on`, or later when the obligation appeared only then (a
    /// catch-up).
    pub day: NaiveDate,
}

/// The days an obligation was open, as closed intervals.
#[derive(Debug, Default)]
pub struct Open {
    pub intervals: Vec<(NaiveDate, NaiveDate)>,
}

impl Open {
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.intervals
            .iter()
            .any(|(from, to)| (*from..=*to).contains(&day))
    }

    /// The last day of the interval holding `day`.
    pub fn closes_after(&self, day: NaiveDate) -> Option<NaiveDate> {
        self.intervals
            .iter()
            .find(|(from, to)| (*from..=*to).contains(&day))
            .map(|(_, to)| *to)
    }
}

/// The daemon's duty, replayed day by day.
pub struct Model {
    pub calendar: Calendar,
    horizon: NaiveDate,
    stages: HashMap<String, Vec<Stage>>,
    planned: HashSet<(String, i64)>,
    pub expected: Vec<Expected>,
    /// Daemon notices: (key, day).
    pub notices: Vec<(String, NaiveDate)>,
    notice_keys: HashSet<String>,
    pub open: HashMap<String, Open>,
}

impl Model {
    pub fn new(calendar: Calendar, last_day: NaiveDate) -> Model {
        Model {
            calendar,
            // Repeats after the last day still matter when a day off moves
            // them back into the run.
            horizon: days(last_day, 15),
            stages: HashMap::new(),
            planned: HashSet::new(),
            expected: Vec::new(),
            notices: Vec::new(),
            notice_keys: HashSet::new(),
            open: HashMap::new(),
        }
    }

    fn notice(&mut self, year: i32, today: NaiveDate) {
        let key = format!("notice/holidays/{year}");
        if self.notice_keys.insert(key.clone()) {
            self.notices.push((key, today));
        }
    }

    /// What the daemon must plan on `today`, given the register as the user
    /// left it the day before: for each open obligation, the newest stage
    /// whose send day has come, unless it was planned already.
    pub fn run_day(&mut self, world: &World, today: NaiveDate) {
        for ob in world.open(today) {
            let open = self.open.entry(ob.key.clone()).or_default();
            match open.intervals.last_mut() {
                Some((_, to)) if *to + Days::new(1) == today => *to = today,
                _ => open.intervals.push((today, today)),
            }
            let stages = self
                .stages
                .entry(ob.key.clone())
                .or_insert_with(|| ob.stages(&self.calendar, self.horizon));
            let due_now = stages.partition_point(|stage| stage.send_on <= today);
            let Some(stage) = due_now.checked_sub(1).map(|index| stages[index]) else {
                continue;
            };
            if !self.planned.insert((ob.key.clone(), stage.offset)) {
                continue;
            }
            for year in [stage.nominal.year(), stage.send_on.year()] {
                if !self.calendar.years.contains(&year) {
                    self.notice(year, today);
                }
            }
            self.expected.push(Expected {
                key: ob.key,
                kind: ob.kind,
                stage,
                day: today,
            });
        }
        // The next year's holidays are published in October or November.
        if today.month() >= 10 && !self.calendar.years.contains(&(today.year() + 1)) {
            self.notice(today.year() + 1, today);
        }
    }
}
