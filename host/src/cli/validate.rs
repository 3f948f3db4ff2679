//! `airlock validate`: checks documents against a standard, one report per file, as
//! JSON lines or for people.
//!
//! Invariants:
//! - Validation is the library's (`airlock_host::validate`), the same the server
//!   runs on connector outputs; this module only reads files and prints reports.
//! - Every file is reported, valid or not; the first file that cannot be read stops
//!   the run with exit 2, after the reports already printed.

use std::path::PathBuf;
use std::process::ExitCode;

use super::read;

/// The arguments of `airlock validate` (its help text is `Command::Validate`'s doc).
#[derive(clap::Args)]
pub struct ValidateArgs {
    /// `stix-2.1`, `cap-1.2`, `ais`, `niem` or `stanag-4607`.
    #[arg(long)]
    standard: String,
    /// One JSON object per line per input: {"file", "valid", "errors", "warnings"}.
    #[arg(long)]
    json: bool,
    /// The documents (`-` reads stdin).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// `airlock validate`: exit 0 when all are valid, 1 when any is invalid, 2 on an
/// unknown standard or a file that cannot be read.
pub fn validate(args: &ValidateArgs) -> ExitCode {
    use airlock_host::validate::{Standard, validate};
    let ValidateArgs {
        standard,
        json,
        files,
    } = args;
    // Every standard but plain `json`, which declares nothing to check.
    let checked: Vec<&str> = Standard::ALL
        .iter()
        .filter(|s| s.is_validated())
        .map(|s| s.as_str())
        .collect();
    let Some(std) = standard
        .parse::<Standard>()
        .ok()
        .filter(|s| s.is_validated())
    else {
        eprintln!(
            "error: unknown standard `{standard}`: use {}",
            airlock_host::vocab::either(&checked)
        );
        return ExitCode::from(2);
    };
    use std::io::Write as _;
    // A short-lived process: compile the STIX schemas the way that starts fastest.
    if std == Standard::Stix21 {
        airlock_host::validate::stix::prefer_fast_start();
    }
    // One write per buffer, not per line: a few hundred reports are one syscall.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut any_invalid = false;
    for file in files {
        let bytes = match read(file) {
            Ok(b) => b,
            Err(e) => {
                let _ = out.flush();
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        let report = validate(std, &bytes);
        any_invalid |= !report.valid;
        let name = file.display().to_string();
        if *json {
            let line = serde_json::json!({"file": name, "valid": report.valid,
                "errors": report.errors, "warnings": report.warnings});
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(
                out,
                "{name}: {}",
                if report.valid { "valid" } else { "INVALID" }
            );
            for (what, findings) in [("error", &report.errors), ("warning", &report.warnings)] {
                for f in findings {
                    let at = if f.path.is_empty() {
                        "/"
                    } else {
                        f.path.as_str()
                    };
                    let _ = writeln!(out, "  {what} [{}] at {at}: {}", f.rule, f.message);
                }
            }
        }
    }
    let _ = out.flush();
    ExitCode::from(u8::from(any_invalid))
}
