//! The register and the person who keeps it: a seeded random register
//! written through `licwatch::store` (what the CLI calls), mirrored in plain
//! structs the model reads, and a scripted user who on some working days
//! submits renewals, files reports and changes, activates and releases
//! numbers, and on other days forgets.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Utc};
use licwatch::domain::change::ChangeKind;
use licwatch::domain::licence::{ItemCode, LicenceNo};
use licwatch::domain::number::ServiceNumber;
use licwatch::domain::province::Province;
use licwatch::domain::uscc::Uscc;
use licwatch::store::{Direction, LicenceUpdate, NewLicence, Stamp, Store};

use super::model::{Ob, add_months, days};

/// SplitMix64: small, seeded, the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5EED_5EED_5EED_5EED)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }

    pub fn day(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        days(from, self.range(0, (to - from).num_days().max(0)))
    }
}

pub struct Licence {
    pub no: String,
    pub issued: NaiveDate,
    pub expires: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    /// Renewal marks by the expiry they were for: continuing or not.
    pub marks: BTreeMap<NaiveDate, bool>,
    pub filed: BTreeSet<i32>,
    pub numbers: Vec<usize>,
}

impl Licence {
    pub fn last_day(&self) -> NaiveDate {
        match self.ended_on {
            Some(ended) if ended <= self.expires => ended,
            _ => self.expires,
        }
    }
}

pub struct Number {
    pub no: String,
    pub licence: usize,
    pub allocated: NaiveDate,
    pub activated: Option<NaiveDate>,
    pub released: Option<NaiveDate>,
}

pub struct Change {
    pub id: i64,
    pub licence: usize,
    pub changed_on: NaiveDate,
    pub filed: Option<NaiveDate>,
}

/// What the register holds, as plain data.
#[derive(Default)]
pub struct World {
    pub licences: Vec<Licence>,
    pub numbers: Vec<Number>,
    pub changes: Vec<Change>,
}

impl World {
    /// The obligations open on `today`, by the rules of README.md's table
    /// (the register as the user left it the day before).
    pub fn open(&self, today: NaiveDate) -> Vec<Ob> {
        let mut open = Vec::new();
        for licence in &self.licences {
            let ended_early = licence.ended_on.is_some_and(|e| e <= licence.expires);
            if !ended_early && !licence.marks.contains_key(&licence.expires) {
                open.push(Ob::renewal(&licence.no, licence.expires));
            }
            // The report due in this year's window and the one before it
            // (annual_report_lookback_years = 1).
            let last = licence.last_day();
            for year in licence.issued.year().max(today.year() - 2)..=today.year() {
                if year < last.year() && !licence.filed.contains(&year) {
                    open.push(Ob::report(&licence.no, year));
                }
            }
        }
        for change in &self.changes {
            if change.filed.is_none() {
                let licence = &self.licences[change.licence];
                open.push(Ob::change(&licence.no, change.id, change.changed_on));
            }
        }
        for number in &self.numbers {
            if number.released.is_some() {
                continue;
            }
            let licence = &self.licences[number.licence];
            if number.activated.is_none() && licence.last_day() >= today {
                open.push(Ob::activation(&licence.no, &number.no, number.allocated));
            }
            // A licence being renewed is expected to live on until its
            // expiry; after that its numbers are a problem again.
            let renewing = licence.marks.get(&licence.expires) == Some(&true)
                && licence.ended_on.is_none()
                && today <= licence.expires;
            if !renewing {
                open.push(Ob::outlives(&licence.no, &number.no, licence.last_day()));
            }
        }
        open
    }
}

#[derive(Debug, Clone)]
enum Action {
    Submit {
        licence: usize,
        expires: NaiveDate,
        continuing: bool,
    },
    Approve {
        licence: usize,
        expires: NaiveDate,
    },
    FileReport {
        licence: usize,
        year: i32,
    },
    RecordChange {
        licence: usize,
    },
    FileChange {
        change: usize,
    },
    AddNumber {
        licence: usize,
    },
    Activate {
        number: usize,
    },
    Release {
        number: usize,
    },
    End {
        licence: usize,
    },
    /// Release every number still held (the business stops).
    ReleaseAll {
        licence: usize,
    },
}

/// Counts of what the user did, for the summary.
#[derive(Debug, Default)]
pub struct Done {
    pub renewals: usize,
    pub not_continuing: usize,
    pub approvals: usize,
    pub reports: usize,
    pub changes_recorded: usize,
    pub changes_filed: usize,
    pub numbers_added: usize,
    pub activations: usize,
    pub releases: usize,
    pub licences_ended: usize,
    pub days_absent: usize,
}

pub struct User {
    rng: Rng,
    agenda: BTreeMap<NaiveDate, Vec<Action>>,
    start: NaiveDate,
    end: NaiveDate,
    next_number: u64,
    pub done: Done,
}

const PROVINCES: [char; 8] = ['京', '沪', '粤', '浙', '苏', '川', '鄂', '鲁'];

fn uscc(serial: u64) -> String {
    const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u64; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let body = format!("91110000{serial:09}");
    let sum: u64 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(c, w)| CHARSET.iter().position(|x| *x == c).unwrap() as u64 * w)
        .sum();
    let check = CHARSET[((31 - sum % 31) % 31) as usize] as char;
    format!("{body}{check}")
}

/// The day before the anniversary `years` later (有效期至).
fn expiry(issued: NaiveDate, years: u32) -> NaiveDate {
    days(add_months(issued, 12 * years), -1)
}

fn stamp() -> Stamp {
    Stamp::cli("soak-user".to_owned(), Utc::now())
}

fn lic(text: &str) -> LicenceNo {
    text.parse().expect("generated licence numbers are valid")
}

fn num(text: &str) -> ServiceNumber {
    text.parse().expect("generated service numbers are valid")
}

impl User {
    /// Builds the register: `licences` licences (several provinces, both
    /// scopes, some ended before the run), `numbers` numbers, unfiled
    /// changes, the reports of past years filed; and the user's plans.
    pub fn generate(
        store: &mut Store,
        seed: u64,
        licences: usize,
        numbers: usize,
        start: NaiveDate,
        end: NaiveDate,
    ) -> (World, User) {
        let mut rng = Rng::new(seed);
        let mut world = World::default();
        let mut user = User {
            rng: Rng::new(seed.wrapping_mul(31).wrapping_add(7)),
            agenda: BTreeMap::new(),
            start,
            end,
            next_number: 0,
            done: Done::default(),
        };
        let before = days(start, -1);
        let mut company = 0u64;
        for serial in 0..licences {
            // A company holds one licence, sometimes two.
            if serial == 0 || rng.chance(0.7) {
                company += 1;
                store
                    .add_company(
                        &stamp(),
                        &uscc(company).parse::<Uscc>().unwrap(),
                        &format!("Soak Call Centre {company} Co Ltd"),
                        &[],
                    )
                    .unwrap();
            }
            let issued = rng.day(
                NaiveDate::from_ymd_opt(2019, 3, 1).unwrap(),
                days(start, -20),
            );
            let class = if rng.chance(0.1) { "B1.B2" } else { "B2" };
            let no = if rng.chance(0.35) {
                format!("{class}-{}{:04}", issued.year(), serial)
            } else {
                let province = PROVINCES[rng.below(PROVINCES.len() as u64) as usize];
                format!("{province}{class}-{}{:04}", issued.year(), serial)
            };
            let expires = expiry(issued, 5);
            let number = lic(&no);
            store
                .add_licence(
                    &stamp(),
                    &NewLicence {
                        number: number.clone(),
                        holder: uscc(company).parse().unwrap(),
                        items: ItemCode::parse_list("B24").unwrap(),
                        issued,
                        expires,
                        authority: number.scope().authority(),
                    },
                )
                .unwrap();
            let mut licence = Licence {
                no,
                issued,
                expires,
                ended_on: None,
                marks: BTreeMap::new(),
                filed: BTreeSet::new(),
                numbers: Vec::new(),
            };
            // Reports of the years before last are all filed.
            for year in issued.year()..start.year() - 1 {
                let on = rng.day(
                    NaiveDate::from_ymd_opt(year + 1, 1, 2).unwrap(),
                    NaiveDate::from_ymd_opt(year + 1, 3, 30).unwrap(),
                );
                store
                    .file_report(&stamp(), &number, year, on, rng.chance(0.9))
                    .unwrap();
                licence.filed.insert(year);
            }
            world.licences.push(licence);
        }
        // Some licences ended before the run.
        for index in 0..licences {
            if rng.chance(0.03) {
                let licence = &world.licences[index];
                let on = rng
                    .day(days(start, -200), days(start, -10))
                    .max(licence.issued);
                store
                    .end_licence(&stamp(), &lic(&licence.no), on, "cancelled (soak)")
                    .unwrap();
                world.licences[index].ended_on = Some(on);
            }
        }
        // Numbers: most in service, some awaiting activation, a few
        // released; those of ended licences mostly released already.
        for _ in 0..numbers {
            let index = rng.below(licences as u64) as usize;
            let (issued, last) = {
                let licence = &world.licences[index];
                (licence.issued, licence.last_day().min(days(start, -5)))
            };
            if last <= issued {
                continue;
            }
            let allocated = rng.day(issued, last);
            let number = user.add_number(store, &mut world, index, allocated, allocated);
            let recent = (before - allocated).num_days() < 200;
            let ended = world.licences[index].ended_on.is_some();
            if ended {
                let on = days(world.licences[index].last_day(), rng.range(0, 30));
                if on < start {
                    user.release(store, &mut world, number, on);
                } else {
                    user.plan(on, Action::Release { number });
                }
            } else if !recent && rng.chance(0.93) {
                let on = days(allocated, rng.range(10, 150)).min(before);
                user.activate(store, &mut world, number, on);
            } else if !recent && rng.chance(0.5) {
                user.release(store, &mut world, number, before);
            } else {
                user.plan_activation(number, &world);
            }
        }
        // Changes recorded before the run, not yet filed.
        for _ in 0..licences / 10 {
            let index = rng.below(licences as u64) as usize;
            if world.licences[index].ended_on.is_some() {
                continue;
            }
            // Not before the licence was issued (the store refuses it).
            let on = rng
                .day(days(start, -40), days(start, -1))
                .max(world.licences[index].issued);
            user.record_change(store, &mut world, index, on);
        }
        // The user's plans for the run.
        for index in 0..licences {
            user.plan_renewal(index, &world);
            let valid_from = world.licences[index].issued.year().max(start.year() - 1);
            for year in valid_from..end.year() {
                let opens = NaiveDate::from_ymd_opt(year + 1, 1, 2).unwrap();
                if user.rng.chance(0.97) {
                    let on = days(opens, user.rng.range(0, 120));
                    user.plan(
                        on,
                        Action::FileReport {
                            licence: index,
                            year,
                        },
                    );
                }
            }
            if user.rng.chance(0.04) {
                let on = user.rng.day(start, end);
                user.plan(on, Action::End { licence: index });
            }
        }
        let run_days = (end - start).num_days() as usize + 1;
        for _ in 0..run_days / 3 {
            let on = user.rng.day(start, end);
            let licence = user.rng.below(licences as u64) as usize;
            user.plan(on, Action::RecordChange { licence });
        }
        for _ in 0..run_days / 4 {
            let on = user.rng.day(start, end);
            let licence = user.rng.below(licences as u64) as usize;
            user.plan(on, Action::AddNumber { licence });
        }
        (world, user)
    }

    fn plan(&mut self, on: NaiveDate, action: Action) {
        if on <= self.end {
            self.agenda
                .entry(on.max(self.start))
                .or_default()
                .push(action);
        }
    }

    fn plan_activation(&mut self, number: usize, world: &World) {
        let allocated = world.numbers[number].allocated;
        if self.rng.chance(0.95) {
            let on = days(allocated, self.rng.range(10, 220));
            self.plan(on, Action::Activate { number });
        } else {
            let on = days(allocated, self.rng.range(30, 220));
            self.plan(on, Action::Release { number });
        }
    }

    /// Decides how the renewal of the licence's current expiry goes.
    fn plan_renewal(&mut self, licence: usize, world: &World) {
        let expires = world.licences[licence].expires;
        let due = days(expires, -90);
        let roll = self.rng.below(100);
        if roll < 85 {
            let on = days(due, self.rng.range(-110, 20));
            self.plan(
                on,
                Action::Submit {
                    licence,
                    expires,
                    continuing: true,
                },
            );
        } else if roll < 93 {
            let on = days(due, self.rng.range(-60, 10));
            self.plan(
                on,
                Action::Submit {
                    licence,
                    expires,
                    continuing: false,
                },
            );
            let stop = days(expires, self.rng.range(-20, 5));
            self.plan(stop, Action::ReleaseAll { licence });
        } else if roll < 97 {
            // Forgotten: the licence runs out, the numbers are given up late.
            let stop = days(expires, self.rng.range(3, 40));
            self.plan(stop, Action::ReleaseAll { licence });
        } else {
            // Late: after the deadline, before expiry.
            let on = days(due, self.rng.range(20, 85));
            self.plan(
                on,
                Action::Submit {
                    licence,
                    expires,
                    continuing: true,
                },
            );
        }
    }

    fn add_number(
        &mut self,
        store: &mut Store,
        world: &mut World,
        licence: usize,
        allocated: NaiveDate,
        today: NaiveDate,
    ) -> usize {
        self.next_number += 1;
        let serial = self.next_number;
        let licence_no = lic(&world.licences[licence].no);
        let index = serial / 5;
        // 95 and 1010 numbers are held only under a 全网 licence.
        let nationwide = licence_no.scope() == licwatch::domain::licence::Scope::Nationwide;
        let (no, province) = match serial % 5 {
            0 if nationwide => (format!("95{:03}", index % 1000), None),
            1 if nationwide => (format!("1010{:04}", index % 10_000), None),
            _ => {
                let province = match licence_no.scope() {
                    licwatch::domain::licence::Scope::Nationwide => {
                        Province::from_abbreviation(PROVINCES[(serial % 8) as usize])
                    }
                    licwatch::domain::licence::Scope::Provincial(_) => None,
                };
                // The serial is unique, so its last four digits are too
                // while fewer than 10,000 numbers are added.
                let n96 = serial % 10_000;
                (format!("96{n96:04}"), province)
            }
        };
        store
            .add_number(&stamp(), &num(&no), province, &licence_no, allocated, today)
            .unwrap_or_else(|e| panic!("number add {no} under {licence_no}: {e}"));
        world.numbers.push(Number {
            no,
            licence,
            allocated,
            activated: None,
            released: None,
        });
        world.licences[licence]
            .numbers
            .push(world.numbers.len() - 1);
        world.numbers.len() - 1
    }

    fn activate(&mut self, store: &mut Store, world: &mut World, number: usize, on: NaiveDate) {
        let no = num(&world.numbers[number].no);
        store
            .activate_number(&stamp(), &no, None, on, "中国电信", Direction::Inbound)
            .unwrap();
        world.numbers[number].activated = Some(on);
        self.done.activations += 1;
    }

    fn release(&mut self, store: &mut Store, world: &mut World, number: usize, on: NaiveDate) {
        let no = num(&world.numbers[number].no);
        store.release_number(&stamp(), &no, None, on).unwrap();
        world.numbers[number].released = Some(on);
        self.done.releases += 1;
    }

    fn record_change(
        &mut self,
        store: &mut Store,
        world: &mut World,
        licence: usize,
        on: NaiveDate,
    ) {
        let kinds = ["name", "address", "legal-rep", "shareholding", "capital"];
        let kind: ChangeKind = kinds[self.rng.below(5) as usize].parse().unwrap();
        let row = store
            .record_change(&stamp(), &lic(&world.licences[licence].no), kind, on)
            .unwrap();
        world.changes.push(Change {
            id: row.id,
            licence,
            changed_on: on,
            filed: None,
        });
        self.done.changes_recorded += 1;
        if self.rng.chance(0.98) {
            let file_on = days(on, self.rng.range(2, 50));
            self.plan(
                file_on,
                Action::FileChange {
                    change: world.changes.len() - 1,
                },
            );
        }
    }

    /// The user's working day: on a working day when present, everything
    /// planned up to today that still makes sense is done, dated today.
    pub fn work(&mut self, store: &mut Store, world: &mut World, today: NaiveDate, working: bool) {
        if !working {
            return;
        }
        if self.rng.chance(0.25) {
            self.done.days_absent += 1;
            return;
        }
        let due: Vec<NaiveDate> = self.agenda.range(..=today).map(|(day, _)| *day).collect();
        let mut actions = Vec::new();
        for day in due {
            actions.extend(self.agenda.remove(&day).unwrap_or_default());
        }
        for action in actions {
            self.act(store, world, today, action);
        }
    }

    fn act(&mut self, store: &mut Store, world: &mut World, today: NaiveDate, action: Action) {
        match action {
            Action::Submit {
                licence,
                expires,
                continuing,
            } => {
                let l = &world.licences[licence];
                // Past expiry there is nothing left to submit (the store
                // refuses it).
                if l.expires != expires
                    || l.ended_on.is_some()
                    || l.marks.contains_key(&expires)
                    || today > expires
                {
                    return;
                }
                store
                    .submit_renewal(&stamp(), &lic(&l.no), today, continuing)
                    .unwrap();
                world.licences[licence].marks.insert(expires, continuing);
                if continuing {
                    self.done.renewals += 1;
                    let on = days(today, self.rng.range(40, 150));
                    self.plan(on, Action::Approve { licence, expires });
                } else {
                    self.done.not_continuing += 1;
                }
            }
            Action::Approve { licence, expires } => {
                let l = &world.licences[licence];
                if l.expires != expires || l.ended_on.is_some() {
                    return;
                }
                let renewed = expiry(days(expires, 1), 5);
                store
                    .update_licence(
                        &stamp(),
                        &lic(&l.no),
                        &LicenceUpdate {
                            expires: Some(renewed),
                            ..LicenceUpdate::default()
                        },
                    )
                    .unwrap();
                world.licences[licence].expires = renewed;
                self.done.approvals += 1;
                self.plan_renewal(licence, world);
            }
            Action::FileReport { licence, year } => {
                let l = &world.licences[licence];
                // Owed only by a licence still in force on 1 January of the
                // next year.
                let owed = l.issued.year() <= year && l.last_day().year() > year;
                if !owed || l.filed.contains(&year) {
                    return;
                }
                let carried_out = self.rng.chance(0.9);
                store
                    .file_report(&stamp(), &lic(&l.no), year, today, carried_out)
                    .unwrap();
                world.licences[licence].filed.insert(year);
                self.done.reports += 1;
            }
            Action::RecordChange { licence } => {
                let l = &world.licences[licence];
                if l.last_day() < today {
                    return;
                }
                let on = days(today, -self.rng.range(0, 7)).max(l.issued);
                self.record_change(store, world, licence, on);
            }
            Action::FileChange { change } => {
                if world.changes[change].filed.is_some() {
                    return;
                }
                store
                    .file_change(&stamp(), world.changes[change].id, today)
                    .unwrap();
                world.changes[change].filed = Some(today);
                self.done.changes_filed += 1;
            }
            Action::AddNumber { licence } => {
                let l = &world.licences[licence];
                if l.last_day() < today {
                    return;
                }
                let allocated = days(today, -self.rng.range(0, 5)).max(l.issued);
                let number = self.add_number(store, world, licence, allocated, today);
                self.done.numbers_added += 1;
                self.plan_activation(number, world);
            }
            Action::Activate { number } => {
                let n = &world.numbers[number];
                let licence = &world.licences[n.licence];
                if n.activated.is_some() || n.released.is_some() || licence.last_day() < today {
                    return;
                }
                self.activate(store, world, number, today);
            }
            Action::Release { number } => {
                if world.numbers[number].released.is_some() {
                    return;
                }
                self.release(store, world, number, today);
            }
            Action::End { licence } => {
                let l = &world.licences[licence];
                if l.ended_on.is_some() || today >= l.expires {
                    return;
                }
                store
                    .end_licence(&stamp(), &lic(&l.no), today, "given up (soak)")
                    .unwrap();
                world.licences[licence].ended_on = Some(today);
                self.done.licences_ended += 1;
                let held: Vec<usize> = world.licences[licence].numbers.clone();
                for number in held {
                    let on = days(today, self.rng.range(1, 25));
                    self.plan(on, Action::Release { number });
                }
            }
            Action::ReleaseAll { licence } => {
                let held: Vec<usize> = world.licences[licence]
                    .numbers
                    .iter()
                    .copied()
                    .filter(|n| world.numbers[*n].released.is_none())
                    .collect();
                for number in held {
                    self.release(store, world, number, today);
                }
            }
        }
    }
}
