//! Architecture invariants checked as ordinary tests.

use std::fs;
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The pure core never does I/O and never reads the clock: `today` is an
/// argument. Anything on this list in `domain/` or `plan/` breaks that.
#[test]
fn the_pure_core_names_no_io_and_no_clock() {
    let forbidden = [
        "std::fs",
        "std::net",
        "std::env",
        "std::process",
        "std::io",
        "SystemTime",
        "Instant",
        "Utc::now",
        "Local::now",
        "today()",
        "tokio",
        "rusqlite",
        "lettre",
        "reqwest",
        "println!",
        "eprintln!",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root.join("domain"), &mut files);
    rust_files(&root.join("plan"), &mut files);
    assert!(files.len() > 5, "found only {files:?}");
    let mut offences = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for word in forbidden {
                if line.contains(word) {
                    offences.push(format!("{}:{}: {word}", file.display(), number + 1));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "I/O or clock in the pure core:\n{}",
        offences.join("\n")
    );
}
