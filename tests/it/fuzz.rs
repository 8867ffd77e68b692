//! Every parser a user feeds, fed anything: arbitrary Unicode, near-misses
//! built from the valid shapes, and arbitrary TOML. None may panic; what is
//! accepted prints back to something that parses to the same value. The
//! cargo-fuzz targets in fuzz/ run the same properties for hours
//! (scripts/fuzz.sh); these run in CI. LICWATCH_FUZZ_CASES raises the count.

use std::path::Path;

use licwatch::cli::sheet::{Kind, parse};
use licwatch::config::Config;
use licwatch::domain::calendar::Calendar;
use licwatch::domain::change::ChangeKind;
use licwatch::domain::date::parse_date;
use licwatch::domain::licence::{ItemCode, LicenceNo};
use licwatch::domain::number::ServiceNumber;
use licwatch::domain::province::Province;
use licwatch::domain::uscc::Uscc;
use licwatch::store::{Direction, check_email};
use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("LICWATCH_FUZZ_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // The properties are about panics; shrinking a failure is cheap.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings near the valid shapes: pieces of licence numbers, codes, dates
/// and numbers, full-width forms, dashes and spaces, glued at random.
fn near_miss() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("京".to_owned()),
        Just("粤".to_owned()),
        Just("蜀".to_owned()),
        Just("B2".to_owned()),
        Just("B1.B2".to_owned()),
        Just("B25".to_owned()),
        Just("ICP".to_owned()),
        Just("-".to_owned()),
        Just("－".to_owned()),
        Just("—".to_owned()),
        Just("　".to_owned()),
        Just(" ".to_owned()),
        Just("２０２".to_owned()),
        Just("95".to_owned()),
        Just("96".to_owned()),
        Just("1010".to_owned()),
        Just("9111".to_owned()),
        Just("Q".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\u{301}".to_owned()),
        "[0-9]{1,9}",
        "[A-Z]{1,3}",
        "\\PC{0,3}",
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

fn anything() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), near_miss()]
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn licence_numbers_never_panic_and_round_trip(text in anything()) {
        if let Ok(number) = text.parse::<LicenceNo>() {
            let printed = number.to_string();
            prop_assert_eq!(printed.parse::<LicenceNo>().ok(), Some(number));
        }
    }

    #[test]
    fn unified_social_credit_codes_never_panic_and_round_trip(text in anything()) {
        if let Ok(code) = text.parse::<Uscc>() {
            prop_assert_eq!(code.as_str().parse::<Uscc>().ok(), Some(code.clone()));
        }
    }

    #[test]
    fn a_mistyped_check_character_is_always_refused(body in "[0-9A-HJ-NP-RTUWXY]{17}", wrong in "[0-9A-HJ-NP-RTUWXY]") {
        let valid = (0..31u32)
            .map(|i| format!("{body}{}", b"0123456789ABCDEFGHJKLMNPQRTUWXY"[i as usize] as char))
            .find(|code| code.parse::<Uscc>().is_ok());
        let valid = valid.expect("one check character fits every body");
        let typo = format!("{body}{wrong}");
        prop_assert_eq!(typo.parse::<Uscc>().is_ok(), typo == valid);
    }

    #[test]
    fn service_numbers_never_panic_and_round_trip(text in anything()) {
        if let Ok(number) = text.parse::<ServiceNumber>() {
            prop_assert_eq!(number.as_str().parse::<ServiceNumber>().ok(), Some(number.clone()));
            prop_assert!(matches!(number.as_str().len(), 5 | 6 | 8));
        }
    }

    #[test]
    fn dates_never_panic_and_round_trip(text in prop_oneof![anything(), "[0-9０-９]{1,5}[-－/][0-9]{1,3}[-－][0-9]{1,3}"]) {
        if let Ok(date) = parse_date("--on", &text) {
            prop_assert_eq!(parse_date("--on", &date.to_string()), Ok(date));
        }
    }

    #[test]
    fn small_vocabularies_never_panic(text in anything()) {
        let _ = text.parse::<ChangeKind>();
        let _ = text.parse::<Direction>();
        let _ = ItemCode::parse_list(&text);
        let _ = Province::parse(&text);
        let _ = check_email(&text);
    }
}

/// TOML built from the config's own keys with values of every type and
/// range, so that validation (not only the TOML parser) is exercised.
fn config_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (-4000i64..4000).prop_map(|n| n.to_string()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("\"\"".to_owned()),
        Just("true".to_owned()),
        Just("1.5".to_owned()),
        Just("\"02-29\"".to_owned()),
        Just("\"13-01\"".to_owned()),
        Just("\"01-01\"".to_owned()),
        Just("\"not a cron\"".to_owned()),
        Just("\"30 9 * * *\"".to_owned()),
        Just("\"Asia/Shanghai\"".to_owned()),
        Just("\"mon\"".to_owned()),
        Just("[]".to_owned()),
        prop::collection::vec(-4000i64..4000, 0..5).prop_map(|v| format!(
            "[{}]",
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        "\"\\PC{0,12}\"".prop_map(|s| s.replace('\\', "\\\\")),
    ];
    let key = prop_oneof![
        Just("[policy]\nrenewal_lead_days"),
        Just("[policy]\nrenewal_opens_days"),
        Just("[policy]\nchange_filing_days"),
        Just("[policy]\nactivation_months"),
        Just("[policy]\nlicence_years"),
        Just("[policy]\nannual_report_lookback_years"),
        Just("[policy.renewal]\nstages"),
        Just("[policy.annual_report]\nstages"),
        Just("[policy.change_filing]\noverdue_every_days"),
        Just("[policy.number_activation]\nwarning_from_days"),
        Just("[schedule]\ncron"),
        Just("[schedule]\ntime_zone"),
        Just("[delivery]\nretry_first_seconds"),
        Just("[delivery]\nretry_max_seconds"),
        Just("[delivery]\nretry_for_hours"),
        Just("[delivery]\nsend_timeout_seconds"),
        Just("[routing]\ndefault_routes"),
        Just("[routing]\nfallback"),
        Just("[routing]\nall_clear_weekday"),
        Just("[routing]\nall_clear_days"),
        Just("[calendar]\nholiday_files"),
        Just("[routes.x]\nkind"),
        Just("[routes.x]\nport"),
        Just("[routes.x]\nhost"),
    ];
    prop::collection::vec((key, value), 0..6).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(key, value)| format!("{key} = {value}\n"))
            .collect::<String>()
    })
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn any_config_text_is_accepted_or_refused_without_panic(text in prop_oneof![any::<String>(), config_text()]) {
        let _ = Config::parse(&text, Path::new("/nonexistent/config.toml"));
    }

    #[test]
    fn any_holiday_file_is_accepted_or_refused_without_panic(
        text in prop_oneof![
            any::<String>(),
            ("[0-9]{4}-[0-9]{2}-[0-9]{2}", any::<bool>(), "\\PC{0,4}").prop_map(|(date, off, name)| format!(
                "[[day]]\ndate = \"{date}\"\nname = \"{}\"\noff = {off}\n",
                name.replace(['\\', '"'], "")
            )),
        ]
    ) {
        let _ = Calendar::parse(&text, "fuzz.toml");
    }
}

/// The admin commands through the real binary, each argument an arbitrary
/// string: a process per case, so a sampled few hundred.
fn cli_case() -> impl Strategy<Value = Vec<String>> {
    let commands: Vec<&'static [&'static str]> = vec![
        &[
            "licence",
            "add",
            "--number",
            "#",
            "--holder",
            "#",
            "--items",
            "#",
            "--issued",
            "#",
            "--expires",
            "#",
        ],
        &[
            "company", "add", "--uscc", "#", "--name", "#", "--email", "#",
        ],
        &["number", "add", "#", "--licence", "#", "--allocated", "#"],
        &[
            "number",
            "activate",
            "#",
            "--on",
            "#",
            "--carrier",
            "#",
            "--direction",
            "#",
        ],
        &["change", "record", "#", "--kind", "#", "--on", "#"],
        &["change", "file", "#", "--on", "#"],
        &["report", "file", "#", "--year", "#", "--on", "#"],
        &["renewal", "submit", "#", "--on", "#"],
        &["licence", "end", "#", "--on", "#", "--reason", "#"],
        &["--today", "#", "agenda", "--days", "#"],
        &["explain", "#"],
        &["snooze", "#", "--until", "#", "--reason", "#"],
        &["outbox", "retry", "#"],
        &["--today", "#", "outbox", "list"],
    ];
    let argument = prop_oneof![
        4 => near_miss(),
        2 => "\\PC{0,12}",
        1 => Just("京B2-20221234".to_owned()),
        1 => Just("91110108551385082Q".to_owned()),
        1 => Just("2026-02-29".to_owned()),
        1 => Just("-1".to_owned()),
        1 => Just("99999999999999999999".to_owned()),
    ];
    (0..commands.len(), prop::collection::vec(argument, 8)).prop_map(move |(index, values)| {
        let mut values = values.into_iter();
        commands[index]
            .iter()
            .map(|part| match *part {
                // A process argument cannot hold NUL.
                "#" => values.next().unwrap_or_default().replace('\0', ""),
                fixed => fixed.to_owned(),
            })
            .collect()
    })
}

#[test]
fn the_admin_commands_never_panic_on_any_argument() {
    let r = crate::support::Register::new();
    r.seed();
    let mut runner = proptest::test_runner::TestRunner::new(cases(300));
    runner
        .run(&cli_case(), |args| {
            let out = r
                .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            prop_assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            prop_assert!(
                matches!(out.status.code(), Some(0..=2)),
                "{args:?}: {out:?}"
            );
            if out.status.code() == Some(1) {
                prop_assert!(stderr.starts_with("licwatch: "), "{args:?}: {stderr}");
            }
            Ok(())
        })
        .unwrap();
}

/// The seeds of the import readers: the files in fuzz/seeds/sheet_* (the
/// .xls among them made by tests/it/biff.rs).
fn sheet_seeds() -> Vec<(Kind, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut seeds = Vec::new();
    for (sub, kind) in [
        ("sheet_csv", Kind::Csv),
        ("sheet_json", Kind::Json),
        ("sheet_xlsx", Kind::Workbook),
    ] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            seeds.push((kind, std::fs::read(file).unwrap()));
        }
    }
    seeds
}

/// One change to a file's bytes, at a place given as a fraction of its
/// length, the way a mutating fuzzer makes them.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: f64,
        bit: u8,
    },
    Set {
        at: f64,
        byte: u8,
    },
    Insert {
        at: f64,
        bytes: Vec<u8>,
    },
    Remove {
        at: f64,
        len: usize,
    },
    /// Writes a little-endian number over the bytes there: a length, a
    /// count, a sector number or a record type.
    Number {
        at: f64,
        value: u32,
        width: u8,
    },
    Truncate {
        at: f64,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0f64;
    prop_oneof![
        (at.clone(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (at.clone(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (at.clone(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (at.clone(), 1usize..64).prop_map(|(at, len)| Mutation::Remove { at, len }),
        (
            at.clone(),
            prop_oneof![
                any::<u32>(),
                Just(0),
                Just(u32::MAX),
                Just(0xFFFF),
                Just(0xFFFF_FFFE),
                0u32..70_000
            ],
            prop_oneof![Just(1u8), Just(2), Just(4)],
        )
            .prop_map(|(at, value, width)| Mutation::Number { at, value, width }),
        at.prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let place = |at: f64, len: usize| ((at * len as f64) as usize).min(len);
    match mutation {
        Mutation::Flip { at, bit } => {
            if !bytes.is_empty() {
                let i = place(*at, bytes.len() - 1);
                bytes[i] ^= 1 << bit;
            }
        }
        Mutation::Set { at, byte } => {
            if !bytes.is_empty() {
                let i = place(*at, bytes.len() - 1);
                bytes[i] = *byte;
            }
        }
        Mutation::Insert { at, bytes: new } => {
            let i = place(*at, bytes.len());
            bytes.splice(i..i, new.iter().copied());
        }
        Mutation::Remove { at, len } => {
            let i = place(*at, bytes.len());
            let end = (i + len).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Number { at, value, width } => {
            let width = usize::from(*width);
            if bytes.len() >= width {
                let i = place(*at, bytes.len() - width);
                bytes[i..i + width].copy_from_slice(&value.to_le_bytes()[..width]);
            }
        }
        Mutation::Truncate { at } => {
            let i = place(*at, bytes.len());
            bytes.truncate(i);
        }
    }
}

proptest! {
    #![proptest_config(cases(500))]

    /// The import readers (the bodies of the cargo-fuzz targets sheet_csv,
    /// sheet_xlsx and sheet_json) on their seeds changed as a fuzzer
    /// changes them: read or refused, never a panic. scripts/fuzz.sh runs
    /// this under an address-space limit when there is no libFuzzer.
    #[test]
    fn the_import_readers_read_or_refuse_mutated_files_without_panic(
        seed in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..8),
    ) {
        let seeds = sheet_seeds();
        let (kind, mut bytes) = seeds[seed.index(seeds.len())].clone();
        for mutation in &mutations {
            mutate(&mut bytes, mutation);
        }
        let _ = parse(kind, bytes);
    }
}
