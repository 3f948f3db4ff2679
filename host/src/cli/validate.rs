//! `airlock validate`: checks documents against a standard, one report per file, as
//! JSON lines or for people.
//!
//! Invariants:
//! - Validation is the library's (`airlock_host::validate`), the same the server
//!   runs on connector outputs; this module only reads files and prints reports.
//! - Every file is reported, valid or not, in the order given (files are checked
//!   on one thread per core); the first file that cannot be read stops the run with
//!   exit 2, after the reports of the files before it.

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
    // A short-lived process: compile the STIX schemas the way that starts fastest.
    if std == Standard::Stix21 {
        airlock_host::validate::stix::prefer_fast_start();
    }
    let mut out = Printer {
        // One write per buffer, not per line: a few hundred reports are one syscall.
        out: std::io::BufWriter::new(std::io::stdout().lock()),
        json: *json,
        any_invalid: false,
    };
    // Files are read and checked on one thread per core and printed here, in the
    // order given. A worker stops when the printer has gone (a file that cannot be
    // read ends the run).
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let outcome = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let report = read(file).map(|bytes| validate(std, &bytes));
                    if tx.send((i, report)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut waiting = std::collections::BTreeMap::new();
        let mut due = 0;
        for (i, report) in rx {
            waiting.insert(i, report);
            while let Some(report) = waiting.remove(&due) {
                match report {
                    Ok(report) => out.print(&files[due], &report),
                    Err(e) => return Err(e),
                }
                due += 1;
            }
        }
        Ok(())
    });
    use std::io::Write as _;
    let _ = out.out.flush();
    if let Err(e) = outcome {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    ExitCode::from(u8::from(out.any_invalid))
}

/// Where the reports go, in the order of the files.
struct Printer<W> {
    out: W,
    json: bool,
    any_invalid: bool,
}

impl<W: std::io::Write> Printer<W> {
    fn print(&mut self, file: &std::path::Path, report: &airlock_host::validate::Report) {
        self.any_invalid |= !report.valid;
        let name = file.display().to_string();
        let out = &mut self.out;
        if self.json {
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
}
