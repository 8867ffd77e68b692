//! What the servers received, read back into (obligation, stage, route)
//! and compared with what the model says must have been sent.
//!
//! "Delivered" means: each expected (obligation, stage, route) reached the
//! server exactly once, on the day the model names, or later only while
//! every day in between its route was down (a fault). A planned alert whose
//! obligation was marked done while its route was still down is *withdrawn*:
//! the daemon rightly cancels it, and it is not expected. A second copy is
//! allowed only in the send-then-crash window: the first copy reached the
//! server during a run that was killed, and the copy has the same message id.

use std::collections::{BTreeSet, HashMap};

use chrono::{Days, NaiveDate};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::model::{Kind, Model, days};

pub const ROUTES: [&str; 2] = ["hook", "mail"];

/// One message as a server received it.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub route: &'static str,
    pub day: NaiveDate,
    /// Message-ID or webhook-id.
    pub id: String,
    /// Obligation keys, with the stage when the message says it (webhook).
    pub items: Vec<(String, Option<i64>)>,
    pub notice: Option<String>,
    /// It reached the server during a run that was killed.
    pub killed: bool,
}

/// The stable message id licwatch gives a digest: SHA-256 over the route
/// and the sorted "key\x1fstage" of its alerts, 16 bytes in hex.
pub fn delivery_id(route: &str, items: &[(String, i64)]) -> String {
    let mut keys: Vec<String> = items
        .iter()
        .map(|(key, stage)| format!("{key}\u{1f}{stage}"))
        .collect();
    keys.sort();
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    for key in keys {
        hasher.update(b"\x1e");
        hasher.update(key.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
        .unwrap_or_else(|_| panic!("a date in the message: {text}"))
}

fn holiday_notice(text: &str) -> Option<String> {
    let rest = text.split("no holiday calendar for ").nth(1)?;
    Some(format!("notice/holidays/{}", rest.get(..4)?))
}

/// The obligation keys of an English e-mail digest, from each item's title,
/// facts and command.
pub fn email_arrival(message: &str, day: NaiveDate, killed: bool) -> Arrival {
    let id = crate::support::message_id(message)
        .trim_start_matches("<licwatch.")
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    let text = crate::support::text(message).replace("\r\n", "\n");
    let header = text.lines().next().unwrap_or_default();
    let mut items = Vec::new();
    for block in text.split("\n\n") {
        let mut lines = block.lines();
        let Some(title) = lines.next() else { continue };
        let Some((position, title)) = title.split_once(". ") else {
            continue;
        };
        if !position.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let facts: Vec<&str> = lines.map(str::trim).collect();
        let fact = |label: &str| {
            facts
                .iter()
                .find_map(|line| line.strip_prefix(label))
                .unwrap_or_else(|| panic!("item without {label}: {block}"))
                .trim()
        };
        let mut parts = title.split(" · ");
        let what = parts.next().unwrap_or_default();
        let what = what.split_once("] ").map_or(what, |(_, rest)| rest);
        let licence = parts.next().unwrap_or_default();
        let key = if what.starts_with("Licence renewal application") {
            let expires = date(fact("Due:")) + Days::new(90);
            format!("renewal/{licence}/{expires}")
        } else if let Some(year) = what.strip_prefix("Annual report for ") {
            format!("annual_report/{licence}/{year}")
        } else if what.starts_with("Change filing") {
            let command = fact("When done, record it:");
            let id = command.split_whitespace().nth(3).unwrap_or_default();
            format!("change_filing/{licence}/{id}")
        } else if let Some(number) = what
            .strip_prefix("Number ")
            .and_then(|rest| rest.strip_suffix(" to be put into service"))
        {
            let allocated = date(fact("Allocated on:"));
            format!("number_activation/{licence}/{number}/{allocated}")
        } else if let Some(number) = what
            .strip_prefix("Number ")
            .and_then(|rest| rest.strip_suffix(" still in use after its licence ended"))
        {
            let last = date(fact("Licence last valid on:"));
            format!("number_outlives_licence/{licence}/{number}/{last}")
        } else {
            panic!("an item of unknown kind: {block}");
        };
        items.push((key, None));
    }
    Arrival {
        route: "mail",
        day,
        id,
        items,
        notice: if items_empty_notice(header) {
            holiday_notice(header)
        } else {
            None
        },
        killed,
    }
}

fn items_empty_notice(header: &str) -> bool {
    !header.starts_with("licwatch compliance reminder")
}

pub fn hook_arrival(body: &Value, id: &str, day: NaiveDate, killed: bool) -> Arrival {
    let data = &body["data"];
    let items = data["alerts"]
        .as_array()
        .map(|alerts| {
            alerts
                .iter()
                .map(|alert| {
                    (
                        alert["key"]
                            .as_str()
                            .expect("alerts carry their key")
                            .to_owned(),
                        Some(
                            alert["stage_offset"]
                                .as_i64()
                                .expect("alerts carry their stage"),
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let notice = (body["type"] == "licwatch.notice")
        .then(|| holiday_notice(data["title"].as_str().unwrap_or_default()))
        .flatten();
    Arrival {
        route: "hook",
        day,
        id: id.trim_start_matches("msg_").to_owned(),
        items,
        notice,
        killed,
    }
}

#[derive(Debug, Default)]
pub struct Totals {
    pub expected: usize,
    pub delivered: usize,
    pub on_time: usize,
    pub late_after_fault: usize,
    pub withdrawn: usize,
    pub missing: usize,
    pub extra: usize,
    pub crash_duplicates: usize,
    pub crash_duplicates_same_id: usize,
    pub other_duplicates: usize,
    pub after_done: usize,
    pub off_day_without_cause: usize,
    pub off_day_late_after_fault: usize,
    pub off_day_catch_up: usize,
    /// Catch-ups on a day off, by kind.
    pub off_day_catch_up_by_kind: HashMap<Kind, usize>,
    pub late_without_fault: usize,
    pub early: usize,
    pub bad_ids: usize,
    /// E-mails whose stages were too ambiguous to search (several stages of
    /// many obligations pending at once after an outage), read from the
    /// outbox record of their message id and checked against it.
    pub resolved_from_outbox: usize,
    pub catch_up_at_start: usize,
    pub catch_up_later: usize,
    pub notices_expected: usize,
    pub notices_delivered: usize,
    pub messages: HashMap<&'static str, usize>,
    pub by_kind: HashMap<Kind, usize>,
    /// A few examples of each problem, for the failure message.
    pub samples: Vec<String>,
}

impl Totals {
    fn sample(&mut self, text: String) {
        if self.samples.len() < 40 {
            self.samples.push(text);
        }
    }

    pub fn clean(&self) -> bool {
        self.missing == 0
            && self.extra == 0
            && self.other_duplicates == 0
            && self.crash_duplicates == self.crash_duplicates_same_id
            && self.after_done == 0
            && self.off_day_without_cause == 0
            && self.late_without_fault == 0
            && self.early == 0
            && self.bad_ids == 0
            && self.notices_expected == self.notices_delivered
            && self.delivered == self.expected
    }
}

struct Slot {
    expected_index: usize,
    received: Option<(NaiveDate, usize)>,
}

/// Compares. `blocked[route]` are the days the route's server was down or
/// erroring.
pub fn compare(
    model: &Model,
    arrivals: &[Arrival],
    blocked: &HashMap<&'static str, BTreeSet<NaiveDate>>,
    start: NaiveDate,
    recorded: &HashMap<String, Vec<(String, i64)>>,
) -> Totals {
    let mut totals = Totals::default();
    let mut slots: HashMap<(&'static str, String), Vec<Slot>> = HashMap::new();
    for (index, expected) in model.expected.iter().enumerate() {
        for route in ROUTES {
            slots
                .entry((route, expected.key.clone()))
                .or_default()
                .push(Slot {
                    expected_index: index,
                    received: None,
                });
        }
    }
    for list in slots.values_mut() {
        list.sort_by_key(|slot| model.expected[slot.expected_index].stage.offset);
    }
    let mut notices: HashMap<(&'static str, String), Option<NaiveDate>> = model
        .notices
        .iter()
        .flat_map(|(key, _)| ROUTES.map(|route| ((route, key.clone()), None)))
        .collect();
    totals.notices_expected = notices.len();
    let mut ids_seen: HashMap<(&'static str, String), bool> = HashMap::new();
    let blocked_between = |route: &str, from: NaiveDate, to: NaiveDate| {
        let days_blocked = &blocked[route];
        from.iter_days()
            .take_while(|d| *d <= to)
            .all(|d| days_blocked.contains(&d))
    };

    for (arrival_index, arrival) in arrivals.iter().enumerate() {
        *totals.messages.entry(arrival.route).or_default() += 1;
        let id_key = (arrival.route, arrival.id.clone());
        let seen_in_killed_run = ids_seen.get(&id_key).copied();
        ids_seen
            .entry(id_key)
            .and_modify(|killed| *killed |= arrival.killed)
            .or_insert(arrival.killed);
        if let Some(notice) = &arrival.notice {
            let expected_id = delivery_id(&format!("{}/{notice}", arrival.route), &[]);
            if expected_id != arrival.id {
                totals.bad_ids += 1;
                totals.sample(format!(
                    "{} notice {notice}: id {} is not {expected_id}",
                    arrival.route, arrival.id
                ));
            }
            match notices.get_mut(&(arrival.route, notice.clone())) {
                Some(slot @ None) => {
                    *slot = Some(arrival.day);
                    totals.notices_delivered += 1;
                }
                Some(Some(_)) if seen_in_killed_run == Some(true) => {
                    totals.crash_duplicates += 1;
                    totals.crash_duplicates_same_id += 1;
                }
                _ => {
                    totals.extra += 1;
                    totals.sample(format!(
                        "{} {}: unexpected notice {notice}",
                        arrival.route, arrival.day
                    ));
                }
            }
            continue;
        }
        if arrival.items.is_empty() {
            totals.extra += 1;
            totals.sample(format!(
                "{} {}: a message without items",
                arrival.route, arrival.day
            ));
            continue;
        }
        // A resend of a message that reached the server in a killed run.
        if seen_in_killed_run == Some(true) {
            totals.crash_duplicates += arrival.items.len();
            totals.crash_duplicates_same_id += arrival.items.len();
            continue;
        }
        // The stage of each item: given (webhook), or for e-mail one of the
        // stages of that obligation not received yet and due by then, the
        // choice that gives the message id (usually there is one candidate;
        // after an outage a stale row and a new one may both be pending).
        let mut assigned: Vec<(String, i64)> = Vec::new();
        let mut choices: Vec<(String, Vec<i64>, usize)> = Vec::new();
        let mut counts: Vec<(String, usize)> = Vec::new();
        for (key, stage) in &arrival.items {
            match stage {
                Some(stage) => assigned.push((key.clone(), *stage)),
                None => match counts.iter_mut().find(|(k, _)| k == key) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((key.clone(), 1)),
                },
            }
        }
        for (key, n) in counts {
            let candidates: Vec<i64> = slots
                .get(&(arrival.route, key.clone()))
                .map(|list| {
                    list.iter()
                        .filter(|slot| {
                            slot.received.is_none()
                                && model.expected[slot.expected_index].day <= arrival.day
                        })
                        .map(|slot| model.expected[slot.expected_index].stage.offset)
                        .collect()
                })
                .unwrap_or_default();
            if candidates.len() < n {
                totals.extra += n - candidates.len();
                totals.sample(format!(
                    "{} {}: {key} came {n} times, {} stages were due",
                    arrival.route,
                    arrival.day,
                    candidates.len()
                ));
            }
            if candidates.len() == n || candidates.len() < n {
                assigned.extend(candidates.into_iter().map(|stage| (key.clone(), stage)));
            } else {
                choices.push((key, candidates, n));
            }
        }
        if !choices.is_empty() {
            let fixed = assigned.clone();
            let found = search(&fixed, &choices, arrival.route, &arrival.id);
            let keys_of = |items: &[(String, i64)]| {
                let mut keys: Vec<String> = items.iter().map(|(key, _)| key.clone()).collect();
                keys.sort();
                keys
            };
            let parsed_keys = keys_of(
                &arrival
                    .items
                    .iter()
                    .map(|(k, _)| (k.clone(), 0))
                    .collect::<Vec<_>>(),
            );
            // Too many combinations: the stages the outbox recorded with this
            // message id, accepted only if they are the keys the message
            // carried and hash to the id the server saw.
            let from_outbox = recorded.get(&arrival.id).filter(|rows| {
                keys_of(rows) == parsed_keys && delivery_id(arrival.route, rows) == arrival.id
            });
            match (found, from_outbox) {
                (Some(chosen), _) => assigned = chosen,
                (None, Some(rows)) => {
                    totals.resolved_from_outbox += 1;
                    assigned = rows.clone();
                }
                (None, None) => {
                    // Oldest first, which the id check below reports.
                    for (key, candidates, n) in &choices {
                        assigned.extend(
                            candidates
                                .iter()
                                .take(*n)
                                .map(|stage| (key.clone(), *stage)),
                        );
                    }
                }
            }
        }
        let mut known = Vec::new();
        for (key, stage) in assigned {
            let exists = slots
                .get(&(arrival.route, key.clone()))
                .is_some_and(|list| {
                    list.iter()
                        .any(|slot| model.expected[slot.expected_index].stage.offset == stage)
                });
            if exists {
                known.push((key, stage));
            } else {
                totals.extra += 1;
                totals.sample(format!(
                    "{} {}: {key} stage {stage} was never expected",
                    arrival.route, arrival.day
                ));
            }
        }
        let expected_id = delivery_id(arrival.route, &known);
        if expected_id != arrival.id {
            totals.bad_ids += 1;
            totals.sample(format!(
                "{} {}: message id {} does not match its {} items (computed {expected_id})",
                arrival.route,
                arrival.day,
                arrival.id,
                known.len()
            ));
        }
        let assigned = known;
        for (key, offset) in assigned {
            let list = slots
                .get_mut(&(arrival.route, key.clone()))
                .expect("found above");
            let slot = list
                .iter_mut()
                .find(|slot| model.expected[slot.expected_index].stage.offset == offset)
                .expect("found above");
            match slot.received {
                None => slot.received = Some((arrival.day, arrival_index)),
                Some((_, first)) => {
                    if arrivals[first].killed {
                        totals.crash_duplicates += 1;
                        if arrivals[first].id == arrival.id {
                            totals.crash_duplicates_same_id += 1;
                        }
                    } else {
                        totals.other_duplicates += 1;
                        totals.sample(format!(
                            "{} {}: {key} stage {offset} received twice",
                            arrival.route, arrival.day
                        ));
                    }
                }
            }
        }
    }

    for ((route, key), list) in &slots {
        let open = model.open.get(key);
        for slot in list {
            let expected = &model.expected[slot.expected_index];
            match slot.received {
                Some((day, _)) => {
                    totals.delivered += 1;
                    *totals.by_kind.entry(expected.kind).or_default() += 1;
                    if open.is_none_or(|open| !open.contains(day)) {
                        totals.after_done += 1;
                        totals.sample(format!(
                            "{route} {day}: {key} stage {} after it was done",
                            expected.stage.offset
                        ));
                    }
                    let late_ok =
                        day > expected.day && blocked_between(route, expected.day, days(day, -1));
                    if day == expected.day {
                        totals.on_time += 1;
                    } else if late_ok {
                        totals.late_after_fault += 1;
                    } else if day > expected.day {
                        totals.late_without_fault += 1;
                        totals.sample(format!(
                            "{route}: {key} stage {} expected {} came {day}",
                            expected.stage.offset, expected.day
                        ));
                    } else {
                        totals.early += 1;
                        totals.sample(format!(
                            "{route}: {key} stage {} expected {} came early {day}",
                            expected.stage.offset, expected.day
                        ));
                    }
                    if !model.calendar.working(day) {
                        if late_ok {
                            totals.off_day_late_after_fault += 1;
                        } else if day == expected.day && expected.day > expected.stage.send_on {
                            totals.off_day_catch_up += 1;
                            *totals
                                .off_day_catch_up_by_kind
                                .entry(expected.kind)
                                .or_default() += 1;
                        } else {
                            totals.off_day_without_cause += 1;
                            totals.sample(format!(
                                "{route} {day}: {key} stage {} on a day off",
                                expected.stage.offset
                            ));
                        }
                    }
                }
                None => {
                    let closed = open.and_then(|open| open.closes_after(expected.day));
                    let withdrawn =
                        closed.is_some_and(|closed| blocked_between(route, expected.day, closed));
                    if withdrawn {
                        totals.withdrawn += 1;
                    } else {
                        totals.missing += 1;
                        totals.sample(format!(
                            "{route}: {key} stage {} (send on {}, expected {}) never arrived",
                            expected.stage.offset, expected.stage.send_on, expected.day
                        ));
                    }
                }
            }
        }
    }
    for expected in &model.expected {
        if expected.day > expected.stage.send_on {
            if expected.day == start {
                totals.catch_up_at_start += ROUTES.len();
            } else {
                totals.catch_up_later += ROUTES.len();
            }
        }
    }
    totals.expected = model.expected.len() * ROUTES.len() - totals.withdrawn;
    totals
}

/// Picks, for each ambiguous key, which of its candidate stages the message
/// carried, so that the message id comes out right. Bounded: at most a few
/// thousand combinations are tried.
fn search(
    fixed: &[(String, i64)],
    choices: &[(String, Vec<i64>, usize)],
    route: &str,
    id: &str,
) -> Option<Vec<(String, i64)>> {
    fn subsets(items: &[i64], n: usize) -> Vec<Vec<i64>> {
        if n == 0 {
            return vec![Vec::new()];
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            for mut rest in subsets(&items[i + 1..], n - 1) {
                rest.insert(0, *item);
                out.push(rest);
            }
        }
        out
    }
    let options: Vec<Vec<Vec<i64>>> = choices.iter().map(|(_, c, n)| subsets(c, *n)).collect();
    let total = options
        .iter()
        .try_fold(1usize, |total, option| total.checked_mul(option.len()))
        .filter(|total| *total <= 4096)?;
    for mut index in 0..total {
        let mut attempt = fixed.to_vec();
        for ((key, _, _), option) in choices.iter().zip(&options) {
            let pick = &option[index % option.len()];
            index /= option.len();
            attempt.extend(pick.iter().map(|stage| (key.clone(), *stage)));
        }
        if delivery_id(route, &attempt) == id {
            return Some(attempt);
        }
    }
    None
}
